using System.Globalization;
using System.Text;
using Drk.Experiments.Engines;
using Drk.Experiments.Matrix;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Slurm;

/// <summary>
/// Writes a Slurm job array for an experiment whose matrix outgrows one machine: array task <c>i</c> runs
/// chunk <c>i/N</c> of the cells (<c>drk experiment --chunk i/N</c>) into its own journal in the shared results
/// folder, and a dependent job merges the journals and writes the report (<c>drk experiment --merge</c>).
/// Paths are absolute, so the results folder and the build must be on a file system every node sees.
/// </summary>
public static class SlurmScriptWriter
{
    /// <summary>Slurm's default MaxArraySize is 1001; staying below keeps the script valid on stock installs.</summary>
    public const int MaxTasks = 1000;

    public static SlurmScripts Write(ExperimentSpec spec, string specPath, string outputDirectory, DrkLauncher drk, int? tasks)
    {
        var matrix = RunMatrix.Expand(spec);
        var cells = Math.Max(1, matrix.CellCount);
        var n = Math.Clamp(tasks ?? cells, 1, Math.Min(cells, MaxTasks));
        var outDir = Path.GetFullPath(outputDirectory);
        var slurmDir = Path.Combine(outDir, "slurm");
        Directory.CreateDirectory(Path.Combine(slurmDir, "logs"));
        var spec_ = Path.GetFullPath(specPath);
        var workDir = Directory.GetCurrentDirectory();
        var command = Quote(drk.FileName) + string.Concat(drk.PrefixArguments.Select(a => " " + Quote(a)));

        // The spec's time limit bounds each run, so a task's worst case is its runs times that limit.
        var runsPerTask = (int)Math.Ceiling((double)cells / n) * (spec.Warmup + spec.Repetitions);
        var limit = TimeSpan.FromTicks(Math.Min(spec.Timeout.Ticks * runsPerTask + TimeSpan.FromMinutes(5).Ticks, TimeSpan.FromDays(2).Ticks));
        var cpus = spec.Variants.Max(v => v.Vcpus) + 1;

        var array = new StringBuilder()
            .Append("#!/bin/bash\n")
            .Append(CultureInfo.InvariantCulture, $"# Job array for experiment '{spec.Name}': task i runs chunk i/{n} of its {cells} (variant, workload) cells.\n")
            .Append("# Written by `drk experiment --slurm`; submit with submit.sh (which also queues the merge).\n")
            .Append(CultureInfo.InvariantCulture, $"#SBATCH --job-name=drk-{spec.Name}\n")
            .Append(CultureInfo.InvariantCulture, $"#SBATCH --array=0-{n - 1}\n")
            .Append(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={cpus}\n")
            .Append("#SBATCH --mem=4G\n")
            .Append("# Upper bound from the spec's per-run timeout; tighten it for faster scheduling.\n")
            .Append(CultureInfo.InvariantCulture, $"#SBATCH --time={SlurmTime(limit)}\n")
            .Append(CultureInfo.InvariantCulture, $"#SBATCH --output={slurmDir}/logs/%A_%a.out\n")
            .Append("# Timings compare variants measured on different nodes: use one homogeneous partition, and\n")
            .Append("# uncomment --exclusive so that no other job shares a node with a measurement.\n")
            .Append("##SBATCH --exclusive\n")
            .Append("set -euo pipefail\n")
            .Append(CultureInfo.InvariantCulture, $"cd {Quote(workDir)}\n")
            .Append(CultureInfo.InvariantCulture, $"DRK=${{DRK:-{command}}}\n")
            .Append(CultureInfo.InvariantCulture,
                $"exec $DRK experiment {Quote(spec_)} --out {Quote(outDir)} --chunk \"${{SLURM_ARRAY_TASK_ID}}/{n}\" --resume\n");

        var merge = new StringBuilder()
            .Append("#!/bin/bash\n")
            .Append(CultureInfo.InvariantCulture, $"# Merges the chunk journals of experiment '{spec.Name}' and writes statistics, figures and README.md.\n")
            .Append(CultureInfo.InvariantCulture, $"#SBATCH --job-name=drk-{spec.Name}-merge\n")
            .Append("#SBATCH --cpus-per-task=1\n")
            .Append("#SBATCH --time=00:30:00\n")
            .Append(CultureInfo.InvariantCulture, $"#SBATCH --output={slurmDir}/logs/merge_%j.out\n")
            .Append("set -euo pipefail\n")
            .Append(CultureInfo.InvariantCulture, $"cd {Quote(workDir)}\n")
            .Append(CultureInfo.InvariantCulture, $"DRK=${{DRK:-{command}}}\n")
            .Append(CultureInfo.InvariantCulture, $"exec $DRK experiment {Quote(spec_)} --out {Quote(outDir)} --merge\n");

        var submit = new StringBuilder()
            .Append("#!/bin/bash\n")
            .Append("# Queues the job array, then the merge once every array task has ended (even if some failed:\n")
            .Append("# failed runs are recorded, and the report lists them).\n")
            .Append("set -euo pipefail\n")
            .Append("here=\"$(cd \"$(dirname \"${BASH_SOURCE[0]}\")\" && pwd)\"\n")
            .Append("array=$(sbatch --parsable \"$here/array.sbatch\")\n")
            .Append("merge=$(sbatch --parsable --dependency=afterany:\"${array%%;*}\" \"$here/merge.sbatch\")\n")
            .Append("echo \"submitted array job $array and merge job $merge\"\n");

        var arrayPath = WriteScript(slurmDir, "array.sbatch", array.ToString());
        var mergePath = WriteScript(slurmDir, "merge.sbatch", merge.ToString());
        var submitPath = WriteScript(slurmDir, "submit.sh", submit.ToString());
        return new SlurmScripts(arrayPath, mergePath, submitPath, n, matrix.CellCount);
    }

    private static string WriteScript(string dir, string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return path;
    }

    private static string SlurmTime(TimeSpan t) =>
        t.Days > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{t.Days}-{t.Hours:00}:{t.Minutes:00}:{t.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{t.Hours:00}:{t.Minutes:00}:{t.Seconds:00}");

    // Single quotes keep paths with spaces or shell characters intact.
    private static string Quote(string s) =>
        s.All(c => char.IsLetterOrDigit(c) || "/._-+=:,".Contains(c)) ? s : "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
