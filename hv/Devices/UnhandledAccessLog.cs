namespace Drk.Hv.Devices;

/// <summary>
/// Records guest accesses nothing answers (unknown ports, unmapped physical addresses, unknown
/// MSRs), once per distinct place, so a guest poking around is visible without flooding the log.
/// </summary>
public sealed class UnhandledAccessLog
{
    private readonly TextWriter? _writer;
    private readonly HashSet<(string Kind, ulong Where)> _seen = new();
    private readonly List<string> _entries = new();

    /// <param name="writer">Where each first occurrence is written as one line; null keeps them in <see cref="Entries"/> only.</param>
    public UnhandledAccessLog(TextWriter? writer = null) => _writer = writer;

    /// <summary>Every first occurrence, in order.</summary>
    public IReadOnlyList<string> Entries => _entries;

    /// <summary>Records an access of <paramref name="kind"/> (e.g. "port read") at <paramref name="where"/> unless already recorded.</summary>
    public void Note(string kind, ulong where, string? detail = null)
    {
        if (!_seen.Add((kind, where))) return;
        var line = detail == null ? $"drk: unhandled {kind} at {where:x}" : $"drk: unhandled {kind} at {where:x} ({detail})";
        _entries.Add(line);
        _writer?.WriteLine(line);
    }
}
