namespace Drk.Experiments.Recording;

/// <summary>
/// One finished run as written to <c>runs.jsonl</c> and <c>runs.csv</c>: what ran, how it ended, and everything
/// it measured. Values an engine did not report are null.
/// </summary>
public sealed record RunRecord
{
    /// <summary>The matrix key (see <see cref="Matrix.PlannedRun.Key"/>): unique per run of an experiment.</summary>
    public required string Key { get; init; }

    public required string Experiment { get; init; }

    /// <summary>Which invocation of the runner produced it (a line of <c>invocations.jsonl</c>).</summary>
    public required string Invocation { get; init; }

    public required string Workload { get; init; }

    public required string Engine { get; init; }

    public string Tier { get; init; } = "";

    public string Tool { get; init; } = "";

    public string Scope { get; init; } = "";

    public int Vcpus { get; init; } = 1;

    public bool Warmup { get; init; }

    public int Repetition { get; init; }

    public required RunStatus Status { get; init; }

    /// <summary>Why a failed run failed, in one line.</summary>
    public string? Reason { get; init; }

    /// <summary>The engine process's exit code.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The status the guest exited with, when the engine can tell it apart from its own errors.</summary>
    public int? GuestStatus { get; init; }

    /// <summary>Host wall time of the whole run, boot included.</summary>
    public double WallSeconds { get; init; }

    /// <summary>Host CPU seconds (user + system) of the engine process, boot included; null when runs overlapped (<c>--jobs</c> above 1).</summary>
    public double? CpuSeconds { get; init; }

    /// <summary>Guest-reported cycles of the workload (from its result line).</summary>
    public long? Cycles { get; init; }

    public long? Iterations { get; init; }

    /// <summary>Guest-reported checksum: equal across engines, tiers and tools when the guest is observed transparently.</summary>
    public string? Checksum { get; init; }

    /// <summary>Retired guest instructions (from <c>drk run --stats</c>).</summary>
    public long? Instructions { get; init; }

    /// <summary>Any other numeric statistics the engine or tool reported, by name.</summary>
    public IReadOnlyDictionary<string, double>? Stats { get; init; }

    public DateTimeOffset StartedUtc { get; init; }

    public string Host { get; init; } = "";

    /// <summary>Path of the saved console output (kept for failed runs), relative to the results folder.</summary>
    public string? Log { get; init; }

    /// <summary>Guest MIPS: retired instructions per second of wall time, in millions.</summary>
    public double? Mips => Instructions is { } n && WallSeconds > 0 ? n / WallSeconds / 1e6 : null;
}
