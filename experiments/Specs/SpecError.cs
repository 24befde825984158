namespace Drk.Experiments.Specs;

/// <summary>One thing wrong with an experiment spec, located at a line and column of its file.</summary>
public sealed record SpecError(string File, long Line, long Column, string Message)
{
    /// <summary>The compiler-style form <c>file:line:column: message</c> that editors can jump to.</summary>
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}: {Message}" : $"{File}: {Message}";
}
