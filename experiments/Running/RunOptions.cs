namespace Drk.Experiments.Running;

/// <summary>How one invocation of the runner should behave.</summary>
public sealed record RunOptions
{
    /// <summary>The results folder.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Runs in parallel; more than one perturbs timings (runs share the host's cores).</summary>
    public int Jobs { get; init; } = 1;

    /// <summary>Continue the runs recorded in the output folder instead of refusing to touch them.</summary>
    public bool Resume { get; init; }

    /// <summary>With <see cref="Resume"/>: run again the runs recorded as failed.</summary>
    public bool RetryFailed { get; init; }

    /// <summary>Run only this chunk of the matrix (a Slurm array task) into its own journal, with no report.</summary>
    public ChunkSelector? Chunk { get; init; }

    /// <summary>The command line as the user typed it, for the provenance record and the report.</summary>
    public string Command { get; init; } = "drk experiment";
}
