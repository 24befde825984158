namespace Drk.Experiments.Running;

/// <summary>The exit statuses of <c>drk experiment</c>, as documented in docs/experiments.md.</summary>
public static class ExitStatus
{
    /// <summary>Every planned run is recorded as ok (and the report is written).</summary>
    public const int Success = 0;

    /// <summary>Everything ran, but some runs failed or could not run (engine unavailable); the report says which.</summary>
    public const int RunsFailed = 1;

    /// <summary>Invalid spec or command line, or results in the way; nothing ran.</summary>
    public const int InvalidInput = 2;

    /// <summary>Interrupted (Ctrl-C / SIGTERM); finished runs are recorded, <c>--resume</c> continues.</summary>
    public const int Interrupted = 130;
}
