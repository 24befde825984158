using System.Globalization;
using Drk.Experiments.Recording;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Analysis;

/// <summary>
/// Transparency checks on the inscount tool's statistics (DESIGN.md section 2: instrumentation must not change what
/// the guest does): on one vCPU its total for a workload and scope is the same in every tier and repetition, and in
/// the kernel+modules scope it equals the kernel-mode instructions Drk itself retired (<c>kernel-instructions</c>).
/// </summary>
public static class InsCountChecks
{
    /// <summary>The statistic holding inscount's total (its <c>inscount: ... total=N</c> line).</summary>
    public const string TotalStat = "inscount.total";

    /// <summary>Drk's own count of instructions retired in kernel mode (<c>drk run --stats</c>).</summary>
    public const string KernelInstructionsStat = "kernel-instructions";

    /// <summary>Whether any of the runs carries an inscount total, i.e. whether the checks had anything to check.</summary>
    public static bool Applies(IEnumerable<RunRecord> runs) => runs.Any(r => Total(r) is not null);

    /// <summary>One line per violation, over the measured, successful runs given.</summary>
    public static IReadOnlyList<string> Check(IEnumerable<RunRecord> runs)
    {
        var problems = new List<string>();
        var counted = runs.Where(r => !r.Warmup && r.Status == RunStatus.Ok && r.Vcpus == 1 && Total(r) is not null).ToList();
        foreach (var cell in counted.GroupBy(r => (r.Workload, r.Scope)).OrderBy(g => g.Key.Workload, StringComparer.Ordinal).ThenBy(g => g.Key.Scope, StringComparer.Ordinal))
        {
            var totals = cell.GroupBy(r => Total(r)!.Value).ToList();
            if (totals.Count > 1)
                problems.Add($"{cell.Key.Workload}: inscount [{cell.Key.Scope}] counted differently across tiers or repetitions: "
                    + string.Join("; ", totals.Select(g => $"{Number(g.Key)} from {string.Join(", ", g.Select(r => $"{r.Tier} r{r.Repetition}").Distinct())}")));
        }
        foreach (var r in counted.Where(r => r.Scope == "kernel+modules"))
        {
            if (r.Stats!.TryGetValue(KernelInstructionsStat, out var retired) && retired != Total(r))
                problems.Add($"{r.Workload} on {r.Tier} r{r.Repetition}: inscount [kernel+modules] counted {Number(Total(r)!.Value)} "
                    + $"instructions, but drk retired {Number(retired)} in kernel mode");
        }
        return problems;
    }

    private static double? Total(RunRecord r) =>
        r.Tool == "inscount" && r.Stats is { } stats && stats.TryGetValue(TotalStat, out var total) ? total : null;

    private static string Number(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
