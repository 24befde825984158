namespace Drk.Experiments.Running;

/// <summary>What one invocation of the runner did, for the command's closing summary and exit status.</summary>
public sealed record ExperimentOutcome
{
    /// <summary>Runs of the matrix this invocation was responsible for (its chunk, or all).</summary>
    public int Planned { get; init; }

    /// <summary>Runs already recorded before this invocation, and so skipped.</summary>
    public int AlreadyRecorded { get; init; }

    public int Ok { get; init; }

    public int Failed { get; init; }

    /// <summary>Runs not attempted because their engine cannot run here, by engine: the reason.</summary>
    public IReadOnlyDictionary<string, string> UnavailableEngines { get; init; } = new Dictionary<string, string>();

    public int SkippedUnavailable { get; init; }

    /// <summary>Runs of the whole results folder, after this invocation, that are failed (latest record per run).</summary>
    public int FailedInResults { get; init; }

    /// <summary>Planned runs that have no record at all after this invocation.</summary>
    public int MissingInResults { get; init; }

    public bool Interrupted { get; init; }

    /// <summary>The Markdown report, when one was written.</summary>
    public string? ReportPath { get; init; }

    /// <summary>Things the user should know (gnuplot missing, torn journal line dropped, ...).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    public int ExitStatus => Interrupted ? Running.ExitStatus.Interrupted
        : FailedInResults > 0 || MissingInResults > 0 || SkippedUnavailable > 0 ? Running.ExitStatus.RunsFailed
        : Running.ExitStatus.Success;
}
