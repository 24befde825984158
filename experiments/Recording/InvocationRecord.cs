namespace Drk.Experiments.Recording;

/// <summary>
/// One invocation of the runner, as a line of <c>invocations.jsonl</c>: who ran what, where, with which build.
/// Every run record names the invocation that produced it.
/// </summary>
public sealed record InvocationRecord
{
    public required string Id { get; init; }

    public required string Experiment { get; init; }

    public required DateTimeOffset StartedUtc { get; init; }

    /// <summary>The command as typed (reconstructed from the arguments).</summary>
    public required string Command { get; init; }

    public required string Spec { get; init; }

    /// <summary>SHA-256 of the spec file, so that a changed spec is noticed.</summary>
    public string? SpecSha256 { get; init; }

    /// <summary>The git commit of the working tree, or null outside a repository.</summary>
    public string? Commit { get; init; }

    /// <summary>Whether tracked files had uncommitted changes (the commit alone does not reproduce the results).</summary>
    public bool? Dirty { get; init; }

    public required MachineInfo Machine { get; init; }

    /// <summary>The .NET runtime that ran the runner (and, for <c>drk run</c>, the engine).</summary>
    public required string Dotnet { get; init; }

    /// <summary>Versions of external programs used (QEMU, gnuplot), by name.</summary>
    public IReadOnlyDictionary<string, string> Programs { get; init; } = new Dictionary<string, string>();

    public int Jobs { get; init; } = 1;

    /// <summary>The Slurm chunk this invocation ran (<c>i/n</c>), or null for the whole matrix.</summary>
    public string? Chunk { get; init; }
}
