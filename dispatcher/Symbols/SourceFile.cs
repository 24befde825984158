namespace Drk.Dispatcher.Symbols;

/// <summary>A file named by a line table: the short path shown to people and the full path addr2line would print.</summary>
internal readonly record struct SourceFile(string DisplayPath, string FullPath);
