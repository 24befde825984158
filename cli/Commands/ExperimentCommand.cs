using System.CommandLine;
using System.Globalization;
using Drk.Cli.Running;
using Drk.Experiments.Engines;
using Drk.Experiments.Figures;
using Drk.Experiments.Matrix;
using Drk.Experiments.Running;
using Drk.Experiments.Slurm;
using Drk.Experiments.Specs;
using Spectre.Console;

namespace Drk.Cli.Commands;

/// <summary>
/// <c>drk experiment SPEC.yaml</c>: runs an experiment's matrix, records every run, and writes statistics,
/// figures and a report into the results folder. Exit statuses are those of <see cref="ExitStatus"/>.
/// </summary>
internal static class ExperimentCommand
{
    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "The experiment spec (YAML), e.g. experiments/overhead.yaml" };
        var output = new Option<string?>("--out") { Description = "Results folder [default: results/<name>]" };
        var jobs = new Option<int>("--jobs", "-j") { Description = "Runs in parallel (more than 1 perturbs timings)", DefaultValueFactory = _ => 1 };
        var resume = new Option<bool>("--resume") { Description = "Continue the results in the folder, skipping runs already recorded" };
        var retryFailed = new Option<bool>("--retry-failed") { Description = "With --resume: run again the runs recorded as failed" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Validate the spec and list the matrix; run nothing" };
        var slurm = new Option<bool>("--slurm") { Description = "Write a Slurm job array (and merge job) for the matrix instead of running it" };
        var slurmTasks = new Option<int?>("--slurm-tasks") { Description = "Array tasks for --slurm [default: one per cell, at most 1000]" };
        var chunk = new Option<string?>("--chunk") { Description = "Run only chunk i/n of the cells into its own journal (what a Slurm array task does)" };
        var merge = new Option<bool>("--merge") { Description = "Merge the chunk journals in the folder and write the report" };
        var report = new Option<bool>("--report") { Description = "Only recompute statistics, figures and the report from the recorded runs" };
        var plain = new Option<bool>("--plain") { Description = "Plain progress lines even on a terminal" };

        var command = new Command("experiment", "Run an experiment spec: repeated runs, statistics, figures and a report");
        foreach (var o in new Option[] { output, jobs, resume, retryFailed, dryRun, slurm, slurmTasks, chunk, merge, report, plain })
            command.Options.Add(o);
        command.Arguments.Add(spec);

        command.SetAction(async (parse, cancellation) =>
        {
            var specPath = parse.GetValue(spec)!;
            try
            {
                var s = SpecLoader.Load(specPath, DrkTools());
                var outDir = parse.GetValue(output) ?? Path.Combine("results", s.Name);
                var n = parse.GetValue(jobs);
                if (n < 1) return Usage($"--jobs must be at least 1, got {n}");
                ChunkSelector? selected = null;
                if (parse.GetValue(chunk) is { } chunkText && (selected = ChunkSelector.Parse(chunkText, out var chunkError)) is null)
                    return Usage(chunkError!);
                var modes = new[] { parse.GetValue(dryRun), parse.GetValue(slurm), parse.GetValue(merge) || parse.GetValue(report), selected is not null }.Count(x => x);
                if (modes > 1) return Usage("--dry-run, --slurm, --merge/--report and --chunk exclude each other");
                if (parse.GetValue(retryFailed) && !parse.GetValue(resume)) return Usage("--retry-failed needs --resume");

                if (parse.GetValue(dryRun)) return DryRun(s);
                var launcher = DrkLauncher.ForCurrentProcess(typeof(ExperimentCommand).Assembly.Location);
                if (parse.GetValue(slurm)) return WriteSlurm(s, specPath, outDir, launcher, parse.GetValue(slurmTasks));

                var interactive = !parse.GetValue(plain) && !Console.IsOutputRedirected
                    && AnsiConsole.Profile.Capabilities.Interactive && Environment.GetEnvironmentVariable("CI") is null;
                IProgressDisplay progress = interactive ? new SpectreProgress(AnsiConsole.Console) : new PlainProgress(Console.Out);
                var runner = new ExperimentRunner(EngineCatalog.Default(launcher), progress, new GnuplotRenderer());
                var outcome = parse.GetValue(merge) || parse.GetValue(report)
                    ? await runner.MergeAsync(s, outDir, cancellation)
                    : await runner.RunAsync(s, new RunOptions
                    {
                        OutputDirectory = outDir,
                        Jobs = n,
                        Resume = parse.GetValue(resume),
                        RetryFailed = parse.GetValue(retryFailed),
                        Chunk = selected,
                        Command = "./drk " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).Select(ShellWord)),
                    }, cancellation);
                return Summarise(s, specPath, outDir, outcome);
            }
            catch (InvalidSpecException e)
            {
                foreach (var error in e.Errors) Console.Error.WriteLine(error);
                Console.Error.WriteLine($"drk experiment: {specPath} was rejected ({e.Errors.Count} problem{(e.Errors.Count == 1 ? "" : "s")}); nothing ran");
                return ExitStatus.InvalidInput;
            }
            catch (ExperimentException e)
            {
                return Usage(e.Message);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Usage($"cannot write results: {e.Message}");
            }
        });
        return command;
    }

    /// <summary>The tools this build's <c>drk run --tool</c> accepts, so that a spec is checked against what will run it.</summary>
    private static DrkToolSet DrkTools() => new(
        [.. ToolCatalog.BuiltInTools().Select(t => t.Name)],
        path => ToolCatalog.TryCreate([path], out _, out var error) ? null : error.Replace($"--tool {path}: ", "", StringComparison.Ordinal));

    private static int DryRun(ExperimentSpec spec)
    {
        var matrix = RunMatrix.Expand(spec);
        var excluded = spec.Variants.Count * spec.Workloads.Count - matrix.CellCount - matrix.NotApplicable.Count;
        Console.WriteLine($"{spec.Name}: {spec.Variants.Count} variants x {spec.Workloads.Count} workloads"
            + (excluded > 0 ? $" - {excluded} excluded" : "") + $" = {matrix.CellCount} cells, "
            + $"{matrix.Runs.Count} runs ({spec.Warmup} warm-up + {spec.Repetitions} measured per cell)");
        foreach (var v in spec.Variants)
            Console.WriteLine($"  {(spec.Baseline.Selects(v) ? "baseline " : "         ")}{v}");
        foreach (var n in matrix.NotApplicable)
            Console.WriteLine($"  not run: {n.Workload.Name} on {n.Variant}: {n.Reason}");
        foreach (var f in spec.Figures)
            Console.WriteLine($"  figure {f.Name}: {f.Kind.ToString().ToLowerInvariant()}, series {string.Join('+', f.Series.Select(KnownNames.NameOf))}"
                + (f.Panels.Count > 0 ? $", one per {string.Join('+', f.Panels.Select(KnownNames.NameOf))}" : ""));
        return ExitStatus.Success;
    }

    private static int WriteSlurm(ExperimentSpec spec, string specPath, string outDir, DrkLauncher launcher, int? tasks)
    {
        if (tasks is < 1) return Usage($"--slurm-tasks must be at least 1, got {tasks}");
        var scripts = SlurmScriptWriter.Write(spec, specPath, outDir, launcher, tasks);
        Console.WriteLine($"wrote a {scripts.Tasks}-task Slurm job array for {scripts.Cells} cells:");
        Console.WriteLine($"  {scripts.ArrayJob}");
        Console.WriteLine($"  {scripts.MergeJob}");
        Console.WriteLine($"submit both with: {scripts.Submit}");
        return ExitStatus.Success;
    }

    private static int Summarise(ExperimentSpec spec, string specPath, string outDir, ExperimentOutcome outcome)
    {
        var done = outcome.Ok + outcome.Failed;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{spec.Name}: {done} runs this time ({outcome.Ok} ok, {outcome.Failed} failed), {outcome.AlreadyRecorded} already recorded, "
            + $"{outcome.SkippedUnavailable} not run (engine unavailable); results in {outDir}"));
        if (outcome.Interrupted)
        {
            Console.Error.WriteLine($"drk experiment: interrupted; finished runs are recorded. Continue with: ./drk experiment {specPath} --out {outDir} --resume");
            return outcome.ExitStatus;
        }
        if (outcome.ReportPath is not null) Console.WriteLine($"report: {outcome.ReportPath}");
        if (outcome.FailedInResults > 0 || outcome.MissingInResults > 0)
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"drk experiment: {outcome.FailedInResults} recorded runs failed and {outcome.MissingInResults} have no record (see the report); exit status {outcome.ExitStatus}"));
        return outcome.ExitStatus;
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine($"drk experiment: {message}");
        return ExitStatus.InvalidInput;
    }

    private static string ShellWord(string s) =>
        s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || "/._-+=:,".Contains(c)) ? s : "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
