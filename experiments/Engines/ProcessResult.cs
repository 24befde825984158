namespace Drk.Experiments.Engines;

/// <summary>How a child process ended and what it printed.</summary>
/// <param name="ExitCode">Null when the process could not start or was killed at the time limit.</param>
/// <param name="StartError">Why the process could not start, or null.</param>
/// <param name="CpuSeconds">Host CPU time (user + system) of the process, when it could be measured alone.</param>
public sealed record ProcessResult(
    int? ExitCode,
    bool TimedOut,
    double WallSeconds,
    IReadOnlyList<string> Stdout,
    IReadOnlyList<string> Stderr,
    string? StartError,
    double? CpuSeconds = null);
