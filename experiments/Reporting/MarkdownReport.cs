using System.Globalization;
using System.Text;
using Drk.Experiments.Analysis;
using Drk.Experiments.Figures;
using Drk.Experiments.Matrix;
using Drk.Experiments.Recording;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Reporting;

/// <summary>
/// Writes <c>README.md</c> of a results folder: provenance (commands, commits, machines), the figures, tables of
/// slowdowns, times and MIPS with their 95% intervals, transparency checks, and every failed run with its reason.
/// </summary>
public static class MarkdownReport
{
    public const string FileName = "README.md";

    /// <param name="figures">The charts drawn, and whether their images exist.</param>
    /// <param name="notApplicable">Cells left out of the matrix, with why.</param>
    public static string Write(
        ExperimentAnalysis analysis,
        IReadOnlyList<InvocationRecord> invocations,
        IReadOnlyList<(BarChart Chart, bool Rendered)> figures,
        IReadOnlyList<NotApplicableCell> notApplicable,
        int plannedRuns,
        IReadOnlyList<string> notes,
        string directory)
    {
        var spec = analysis.Spec;
        var md = new StringBuilder();
        md.Append("# ").Append(spec.Name).Append("\n\n");
        if (spec.Description is { Length: > 0 } d) md.Append(d).Append("\n\n");

        var measured = analysis.Runs.Where(r => !r.Warmup).ToList();
        md.Append(CultureInfo.InvariantCulture,
            $"{measured.Count(r => r.Status == RunStatus.Ok)} measured runs ok, {measured.Count(r => r.Status == RunStatus.Failed)} failed, ")
          .Append(CultureInfo.InvariantCulture,
            $"{analysis.Runs.Count(r => r.Warmup)} warm-up runs; {analysis.Runs.Count} of {plannedRuns} planned runs recorded. ")
          .Append(CultureInfo.InvariantCulture,
            $"{spec.Repetitions} repetitions per cell after {spec.Warmup} warm-up{(spec.Warmup == 1 ? "" : "s")}; ")
          .Append("medians with 95% percentile-bootstrap confidence intervals ")
          .Append(CultureInfo.InvariantCulture, $"({spec.Resamples} resamples, seed {spec.Seed}).\n\n");
        foreach (var note in notes) md.Append("> ").Append(note).Append("\n\n");

        WriteProvenance(md, invocations);
        WriteFigures(md, figures, directory);

        var labelDims = VariantDimensions.Varying(spec.Variants);
        string Label(Variant v) => labelDims.Count > 0 ? v.Label(labelDims) : v.ToString();
        var workloads = spec.Workloads.Select(w => w.Name).Where(w => analysis.Cells.Any(c => c.Workload == w)).ToList();

        var compared = spec.Variants.Where(v => !analysis.IsBaseline(v) && analysis.Cells.Any(c => c.Variant == v)).ToList();
        if (compared.Count > 0)
        {
            md.Append(CultureInfo.InvariantCulture,
                $"## Slowdown vs. {FigureBuilder.BaselineText(spec.Baseline)} ({FigureBuilder.MetricText(spec.Metric)})\n\n");
            md.Append("Ratio of medians to the baseline measured in the same results; 95% interval in parentheses.\n\n");
            Table(md, "variant", [.. workloads, "geo. mean"], compared, Label, (v, w) =>
                w == "geo. mean"
                    ? Format(analysis.VariantSummaries.FirstOrDefault(s => s.Variant == v)?.GeomeanSlowdown, "×")
                    : Format(analysis.Find(v, w)?.Slowdown, "×"));
        }

        var all = spec.Variants.Where(v => analysis.Cells.Any(c => c.Variant == v)).ToList();
        if (all.Count > 0)
        {
            md.Append("## Wall time per run (seconds, boot included)\n\n");
            Table(md, "variant", workloads, all, Label, (v, w) => Format(analysis.Find(v, w)?.Wall, ""));
            if (analysis.Cells.Any(c => c.Cpu is not null))
            {
                md.Append("## CPU time per run (seconds of host CPU, user + system, boot included)\n\n");
                Table(md, "variant", workloads, all, Label, (v, w) => Format(analysis.Find(v, w)?.Cpu, ""));
            }
        }
        var withMips = all.Where(v => analysis.Cells.Any(c => c.Variant == v && c.Mips is not null)).ToList();
        if (withMips.Count > 0)
        {
            md.Append("## Guest MIPS (retired instructions per wall-clock second, millions)\n\n");
            Table(md, "variant", [.. workloads, "geo. mean"], withMips, Label, (v, w) =>
                w == "geo. mean"
                    ? Format(analysis.VariantSummaries.FirstOrDefault(s => s.Variant == v)?.GeomeanMips, "")
                    : Format(analysis.Find(v, w)?.Mips, ""));
        }
        var withCycles = all.Where(v => analysis.Cells.Any(c => c.Variant == v && c.Cycles is not null)).ToList();
        if (withCycles.Count > 0)
        {
            md.Append("## Guest-reported cycles (median)\n\n");
            Table(md, "variant", workloads, withCycles, Label, (v, w) =>
                analysis.Find(v, w)?.Cycles is { } c ? c.Value.ToString("N0", CultureInfo.InvariantCulture) : "–");
        }

        md.Append("## Transparency checks\n\n");
        if (analysis.ConsistencyProblems.Count == 0)
        {
            md.Append("Every engine, tier and tool reported the same checksum for each workload, and (on 1 vCPU, where counted) the same number of retired instructions.");
            if (InsCountChecks.Applies(analysis.Runs))
                md.Append(" inscount counted the same instructions in every tier and repetition, and in the kernel+modules scope exactly the kernel-mode instructions Drk retired.");
            md.Append('\n');
        }
        else
            foreach (var p in analysis.ConsistencyProblems) md.Append("- ").Append(p).Append('\n');
        md.Append('\n');

        var failures = analysis.Failures.ToList();
        if (failures.Count > 0)
        {
            md.Append(CultureInfo.InvariantCulture, $"## Failed runs ({failures.Count})\n\n");
            md.Append("| run | reason | log |\n|---|---|---|\n");
            foreach (var f in failures)
                md.Append(CultureInfo.InvariantCulture,
                    $"| `{f.Key}` | {Cell(f.Reason ?? "")} | {(f.Log is null ? "" : $"[log]({f.Log})")} |\n");
            md.Append('\n');
        }
        if (notApplicable.Count > 0)
        {
            md.Append("## Not run\n\n");
            foreach (var n in notApplicable) md.Append(CultureInfo.InvariantCulture, $"- {n.Workload.Name} on {n.Variant}: {n.Reason}\n");
            md.Append('\n');
        }

        md.Append("## Files\n\n");
        md.Append("- `runs.jsonl`, `runs.csv`: every run (warm-ups included), with wall time, guest cycles, checksum, retired instructions, statistics and exit status\n");
        md.Append("- `invocations.jsonl`: who ran what where: command, commit, machine, .NET, QEMU and gnuplot versions\n");
        md.Append("- `summary.csv`: the statistics above, one row per cell and per variant's geometric mean\n");
        md.Append("- `*.dat`, `*.gp`: each figure's data and gnuplot script (`gnuplot NAME.gp` redraws it)\n");

        var path = Path.Combine(directory, FileName);
        File.WriteAllText(path, md.ToString());
        return path;
    }

    private static void WriteProvenance(StringBuilder md, IReadOnlyList<InvocationRecord> invocations)
    {
        md.Append("## How these results were produced\n\n");
        if (invocations.Count == 0)
        {
            md.Append("No invocation records.\n\n");
            return;
        }
        md.Append("| started (UTC) | command | commit | machine | .NET |\n|---|---|---|---|---|\n");
        foreach (var i in invocations)
        {
            var commit = i.Commit is null ? "(not in git)" : $"`{i.Commit[..Math.Min(12, i.Commit.Length)]}`{(i.Dirty == true ? " + uncommitted changes" : "")}";
            var machine = $"{i.Machine.Host}: {i.Machine.Cpu}, {i.Machine.Cores} cores, {i.Machine.MemoryBytes / (1024.0 * 1024 * 1024):0.#} GiB";
            md.Append(CultureInfo.InvariantCulture,
                $"| {i.StartedUtc:yyyy-MM-dd HH:mm} | `{Cell(i.Command)}`{(i.Chunk is null ? "" : $" (chunk {i.Chunk})")} | {commit} | {Cell(machine)} | {Cell(i.Dotnet)} |\n");
        }
        var programs = invocations.SelectMany(i => i.Programs).Select(p => p.Value).Distinct().ToList();
        if (programs.Count > 0) md.Append("\nExternal programs: ").Append(string.Join("; ", programs.Select(Cell))).Append(".\n");
        md.Append('\n');
    }

    private static void WriteFigures(StringBuilder md, IReadOnlyList<(BarChart Chart, bool Rendered)> figures, string directory)
    {
        if (figures.Count == 0) return;
        md.Append("## Figures\n\n");
        foreach (var (chart, rendered) in figures)
        {
            md.Append("### ").Append(chart.Title).Append("\n\n");
            if (rendered) md.Append(CultureInfo.InvariantCulture, $"![{chart.Title}]({chart.Name}.png)\n\n");
            var links = new List<string>();
            if (rendered)
            {
                links.Add($"[SVG]({chart.Name}.svg)");
                if (File.Exists(Path.Combine(directory, chart.Name + ".pdf"))) links.Add($"[PDF]({chart.Name}.pdf)");
            }
            links.Add($"[gnuplot script]({chart.Name}.gp)");
            links.Add($"[data]({chart.Name}.dat)");
            md.Append(string.Join(" · ", links)).Append("\n\n");
        }
    }

    private static void Table(
        StringBuilder md, string corner, IReadOnlyList<string> columns, IReadOnlyList<Variant> rows,
        Func<Variant, string> label, Func<Variant, string, string> cell)
    {
        md.Append("| ").Append(corner);
        foreach (var c in columns) md.Append(" | ").Append(Cell(c));
        md.Append(" |\n|---");
        foreach (var _ in columns) md.Append("|---:");
        md.Append("|\n");
        foreach (var v in rows)
        {
            md.Append("| ").Append(Cell(label(v)));
            foreach (var c in columns) md.Append(" | ").Append(cell(v, c));
            md.Append(" |\n");
        }
        md.Append('\n');
    }

    private static string Format(Estimate? e, string unit)
    {
        if (e is not { } x) return "–";
        return x.Count > 1
            ? $"{Sig(x.Value)}{unit} ({Sig(x.Low)}–{Sig(x.High)})"
            : $"{Sig(x.Value)}{unit}";
    }

    private static string Sig(double x) => x switch
    {
        >= 1000 => x.ToString("N0", CultureInfo.InvariantCulture),
        >= 100 => x.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => x.ToString("0.0", CultureInfo.InvariantCulture),
        >= 1 => x.ToString("0.00", CultureInfo.InvariantCulture),
        _ => x.ToString("0.000", CultureInfo.InvariantCulture),
    };

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');
}
