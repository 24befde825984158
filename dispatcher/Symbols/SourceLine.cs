namespace Drk.Dispatcher.Symbols;

/// <summary>
/// A source position from a DWARF line table: <see cref="File"/> is relative to the compilation
/// directory when the file lies under it ("kernel/slab.c"), <see cref="FullPath"/> is what
/// addr2line prints (absolute when the line table names the compilation directory, DWARF 5).
/// </summary>
public readonly record struct SourceLine(string File, string FullPath, int Line);
