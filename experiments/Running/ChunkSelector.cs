using System.Globalization;

namespace Drk.Experiments.Running;

/// <summary>
/// One chunk of a matrix split for a Slurm job array: chunk <see cref="Index"/> (0-based, the array task id)
/// of <see cref="Count"/> takes every cell whose index is congruent to it, all repetitions of a cell together.
/// Each chunk writes its own journal, which <c>--merge</c> combines.
/// </summary>
public sealed record ChunkSelector(int Index, int Count)
{
    public string JournalName => $"runs.chunk-{Index}-of-{Count}.jsonl";

    public string InvocationsName => $"invocations.chunk-{Index}-of-{Count}.jsonl";

    public bool Includes(int cell) => cell % Count == Index;

    /// <summary>Parses <c>i/n</c>; null (with the reason) when malformed.</summary>
    public static ChunkSelector? Parse(string text, out string? error)
    {
        error = null;
        var parts = text.Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n >= 1 && i < n)
            return new ChunkSelector(i, n);
        error = $"--chunk must be i/n with 0 <= i < n (the Slurm array task id and the task count), got '{text}'";
        return null;
    }

    public override string ToString() => $"{Index}/{Count}";
}
