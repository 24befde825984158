using System.Text;
using System.Text.RegularExpressions;
using Drk.Experiments.Analysis;
using Drk.Experiments.Engines;
using Drk.Experiments.Figures;
using Drk.Experiments.Matrix;
using Drk.Experiments.Recording;
using Drk.Experiments.Reporting;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Running;

/// <summary>
/// Runs an experiment's matrix and reports on it. Reads as its steps: expand the matrix, skip what is recorded,
/// check the engines, run (each finished run appended to the journal at once), then compute statistics, draw
/// figures and write the report. A failing run is recorded and the others go on; an interruption loses only
/// the runs in flight.
/// </summary>
public sealed partial class ExperimentRunner(EngineCatalog engines, IProgressDisplay progress, GnuplotRenderer? gnuplot = null)
{
    /// <summary>Replaces file-system checks of native builds (tests); null means the real file system.</summary>
    public Func<string, bool>? FileExists { get; init; }

    public async Task<ExperimentOutcome> RunAsync(ExperimentSpec spec, RunOptions options, CancellationToken cancellation)
    {
        var matrix = RunMatrix.Expand(spec, FileExists);
        var chunk = options.Chunk;
        var planned = matrix.Runs.Where(r => chunk?.Includes(r.Cell) ?? true).ToList();
        var journal = chunk?.JournalName ?? ResultStore.JournalFile;

        var journalPath = Path.Combine(options.OutputDirectory, journal);
        if (!options.Resume && File.Exists(journalPath) && new FileInfo(journalPath).Length > 0)
            throw new ExperimentException(
                $"{journalPath} already holds results; pass --resume to continue them, or --out to start a new folder");

        var store = new ResultStore(options.OutputDirectory, journal, writeCsv: chunk is null);
        var notes = new List<string>();
        if (store.DiscardedLines > 0)
            notes.Add($"dropped {store.DiscardedLines} unreadable line(s) of {journal} (a run torn by an interruption); it will run again");

        var recorded = ResultStore.LatestByKey(store.Records)
            .Where(r => r.Status == RunStatus.Ok || !options.RetryFailed)
            .Select(r => r.Key)
            .ToHashSet(StringComparer.Ordinal);
        var todo = planned.Where(r => !recorded.Contains(r.Key)).ToList();

        var unavailable = new Dictionary<string, string>(StringComparer.Ordinal);
        var usable = new Dictionary<string, IRunEngine>(StringComparer.Ordinal);
        foreach (var name in todo.Select(r => r.Variant.Engine).Distinct())
        {
            var engine = engines.Find(name);
            var why = engine is null ? $"no engine named {name}" : await engine.CheckAvailabilityAsync(cancellation).ConfigureAwait(false);
            if (why is null) usable[name] = engine!;
            else unavailable[name] = why;
        }
        foreach (var (name, why) in unavailable)
            notes.Add($"engine {name} cannot run here, its {todo.Count(r => r.Variant.Engine == name)} runs are left for later (--resume): {why}");
        foreach (var note in notes) progress.Note(note);
        var runnable = todo.Where(r => usable.ContainsKey(r.Variant.Engine)).ToList();

        var invocation = await ProvenanceProbe.CaptureAsync(spec.Name, spec.SourcePath, options.Command, options.Jobs, chunk?.ToString(), cancellation, options.OutputDirectory)
            .ConfigureAwait(false);
        store.AppendInvocation(invocation, chunk?.InvocationsName ?? ResultStore.InvocationsFile);

        var ok = 0;
        var failed = 0;
        var interrupted = false;
        try
        {
            // Runs of unavailable engines will not happen in this invocation, so they are not part of its progress.
            var skipped = todo.Count - runnable.Count;
            await progress.ShowAsync(spec.Name, planned.Count - skipped, planned.Count - todo.Count, async reporter =>
            {
                var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Jobs), CancellationToken = cancellation };
                await Parallel.ForEachAsync(runnable, parallel, async (run, token) =>
                {
                    reporter.Started(run);
                    var record = await RunOneAsync(spec, run, usable[run.Variant.Engine], invocation, options.OutputDirectory, token).ConfigureAwait(false);
                    store.Append(record);
                    if (record.Status == RunStatus.Ok) Interlocked.Increment(ref ok);
                    else Interlocked.Increment(ref failed);
                    reporter.Finished(run, record);
                }).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            interrupted = true;
        }

        var latest = ResultStore.LatestByKey(store.Records).ToDictionary(r => r.Key, StringComparer.Ordinal);
        var outcome = new ExperimentOutcome
        {
            Planned = planned.Count,
            AlreadyRecorded = planned.Count - todo.Count,
            Ok = ok,
            Failed = failed,
            UnavailableEngines = unavailable,
            SkippedUnavailable = todo.Count - runnable.Count,
            FailedInResults = planned.Count(r => latest.TryGetValue(r.Key, out var x) && x.Status == RunStatus.Failed),
            MissingInResults = planned.Count(r => !latest.ContainsKey(r.Key)),
            Interrupted = interrupted,
            Notes = notes,
        };
        if (interrupted || chunk is not null) return outcome;
        return outcome with { ReportPath = await ReportAsync(spec, matrix, options.OutputDirectory, store.Records, notes, cancellation).ConfigureAwait(false) };
    }

    /// <summary>
    /// Combines the journals of Slurm chunks (and any earlier <c>runs.jsonl</c>) into <c>runs.jsonl</c> and
    /// <c>runs.csv</c>, then writes statistics, figures and the report. Without chunk journals it just redraws
    /// the report from the recorded runs (<c>--report</c>).
    /// </summary>
    public async Task<ExperimentOutcome> MergeAsync(ExperimentSpec spec, string directory, CancellationToken cancellation)
    {
        if (!Directory.Exists(directory)) throw new ExperimentException($"no results folder {directory} to merge");
        var matrix = RunMatrix.Expand(spec, FileExists);
        var chunkFiles = Directory.GetFiles(directory, "runs.chunk-*.jsonl").Order(StringComparer.Ordinal).ToList();
        var all = new List<RunRecord>();
        var discarded = 0;
        foreach (var file in chunkFiles.Prepend(Path.Combine(directory, ResultStore.JournalFile)))
        {
            var (records, bad) = ResultStore.ReadJournal(file);
            all.AddRange(records);
            discarded += bad;
        }
        // Order by start time so that "latest record per run wins" means the most recent attempt.
        var merged = ResultStore.LatestByKey(all.OrderBy(r => r.StartedUtc)).ToList();
        var journal = Path.Combine(directory, ResultStore.JournalFile);
        var temp = journal + ".tmp";
        await File.WriteAllTextAsync(temp, string.Concat(merged.Select(r => System.Text.Json.JsonSerializer.Serialize(r, JsonFormat.Options) + "\n")), cancellation)
            .ConfigureAwait(false);
        File.Move(temp, journal, overwrite: true);
        var store = new ResultStore(directory);

        var notes = new List<string>();
        if (chunkFiles.Count > 0) notes.Add($"merged {chunkFiles.Count} chunk journal(s) into {ResultStore.JournalFile}: {merged.Count} runs");
        if (discarded > 0) notes.Add($"dropped {discarded} unreadable journal line(s) (runs torn by an interruption)");
        var latest = merged.ToDictionary(r => r.Key, StringComparer.Ordinal);
        var missing = matrix.Runs.Count(r => !latest.ContainsKey(r.Key));
        if (missing > 0) notes.Add($"{missing} planned runs have no record; run the same command with --resume to fill them in");
        foreach (var note in notes) progress.Note(note);
        return new ExperimentOutcome
        {
            Planned = matrix.Runs.Count,
            AlreadyRecorded = matrix.Runs.Count - missing,
            FailedInResults = matrix.Runs.Count(r => latest.TryGetValue(r.Key, out var x) && x.Status == RunStatus.Failed),
            MissingInResults = missing,
            Notes = notes,
            ReportPath = await ReportAsync(spec, matrix, directory, store.Records, notes, cancellation).ConfigureAwait(false),
        };
    }

    private async Task<RunRecord> RunOneAsync(
        ExperimentSpec spec, PlannedRun run, IRunEngine engine, InvocationRecord invocation, string directory, CancellationToken cancellation)
    {
        var request = new RunRequest(
            run.Variant, run.Workload, spec.Guest, run.Workload.CommandLine(spec.Guest.Append), spec.Timeout, spec.MaxInstructions,
            RunMatrix.NativeProgramPath(spec, run.Workload), spec.ToolAssemblies.GetValueOrDefault(run.Variant.Tool));
        var started = DateTimeOffset.UtcNow;
        EngineOutcome outcome;
        try
        {
            outcome = await engine.RunAsync(request, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug in one engine must not stop the rest of the matrix; the record keeps the evidence.
            outcome = new EngineOutcome { WallSeconds = 0, EngineFailure = $"internal error in engine {engine.Name}: {e.GetType().Name}: {e.Message}" };
        }
        var record = RunJudge.Judge(run, outcome, spec.Name, invocation.Id, invocation.Machine.Host, started, spec.Timeout);
        if (record.Status == RunStatus.Failed) record = record with { Log = SaveLog(directory, run, request, engine, outcome) };
        return record;
    }

    private static string SaveLog(string directory, PlannedRun run, RunRequest request, IRunEngine engine, EngineOutcome outcome)
    {
        var relative = Path.Combine("logs", UnsafeInFileName().Replace(run.Key, "_") + ".log");
        var path = Path.Combine(directory, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var text = new StringBuilder()
            .Append("run: ").Append(run).Append('\n')
            .Append("engine: ").Append(engine.Name).Append('\n')
            .Append("guest command line: ").Append(request.CommandLine).Append('\n')
            .Append("exit code: ").Append(outcome.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none").Append('\n')
            .Append("== guest output ==\n");
        foreach (var line in outcome.Output) text.Append(line).Append('\n');
        text.Append("== engine diagnostics ==\n");
        foreach (var line in outcome.Diagnostics) text.Append(line).Append('\n');
        File.WriteAllText(path, text.ToString());
        return relative.Replace('\\', '/');
    }

    private async Task<string> ReportAsync(
        ExperimentSpec spec, RunMatrix matrix, string directory, IEnumerable<RunRecord> records, List<string> notes, CancellationToken cancellation)
    {
        var analysis = ExperimentAnalysis.Compute(spec, records);
        SummaryCsvWriter.Write(analysis, directory);

        var figures = new List<(BarChart, bool)>();
        var canRender = gnuplot?.Available ?? false;
        if (gnuplot is not null && !canRender)
            notes.Add($"gnuplot is not installed: figures were written as data and gnuplot scripts only. Install it ({GnuplotRenderer.InstallHint}) and run `gnuplot NAME.gp` in {directory}, or rerun with --report.");
        foreach (var figure in spec.Figures)
        {
            foreach (var chart in FigureBuilder.Build(analysis, figure))
            {
                var script = GnuplotScriptWriter.Write(chart, directory);
                var rendered = false;
                if (canRender)
                {
                    var problem = await gnuplot!.RenderAsync(script, cancellation).ConfigureAwait(false);
                    if (problem is null) rendered = true;
                    else notes.Add(problem);
                }
                figures.Add((chart, rendered));
            }
        }
        return MarkdownReport.Write(analysis, ResultStore.ReadInvocations(directory), figures, matrix.NotApplicable, matrix.Runs.Count, notes, directory);
    }

    [GeneratedRegex("[^A-Za-z0-9._+-]+")]
    private static partial Regex UnsafeInFileName();
}
