namespace Drk.Experiments.Engines;

/// <summary>What an engine observed during one run, before anyone judges whether it succeeded.</summary>
public sealed record EngineOutcome
{
    public required double WallSeconds { get; init; }

    /// <summary>Host CPU seconds (user + system) of the engine process, when measured (see <see cref="ChildCpuClock"/>).</summary>
    public double? CpuSeconds { get; init; }

    /// <summary>Exit code of the engine process; null if it never started or was killed.</summary>
    public int? ExitCode { get; init; }

    public bool TimedOut { get; init; }

    /// <summary>The guest's own exit status, when the engine can tell it apart from its own errors.</summary>
    public int? GuestStatus { get; init; }

    /// <summary>Set when the engine itself failed (could not start, rejected its arguments): one line.</summary>
    public string? EngineFailure { get; init; }

    /// <summary>The guest's console output, one entry per line.</summary>
    public IReadOnlyList<string> Output { get; init; } = [];

    /// <summary>The engine's own diagnostics (standard error).</summary>
    public IReadOnlyList<string> Diagnostics { get; init; } = [];

    /// <summary>Retired guest instructions, when the engine counts them.</summary>
    public long? Instructions { get; init; }

    /// <summary>Other numeric statistics the engine or its tool reported.</summary>
    public IReadOnlyDictionary<string, double> Stats { get; init; } = new Dictionary<string, double>();
}
