namespace Drk.Experiments.Slurm;

/// <summary>The files <c>--slurm</c> wrote: the array job, the merge job and the script that submits both.</summary>
public sealed record SlurmScripts(string ArrayJob, string MergeJob, string Submit, int Tasks, int Cells);
