using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Drk.Experiments.Analysis;

namespace Drk.Experiments.Reporting;

/// <summary>Writes <c>summary.csv</c>: every cell's statistics and every variant's geometric means, for scripts and spreadsheets.</summary>
public static class SummaryCsvWriter
{
    public const string FileName = "summary.csv";

    public static string Write(ExperimentAnalysis analysis, string directory)
    {
        var rows = new List<SummaryRow>();
        foreach (var c in analysis.Cells)
        {
            rows.Add(new SummaryRow
            {
                Workload = c.Workload,
                Engine = c.Variant.Engine,
                Tier = c.Variant.Tier,
                Tool = c.Variant.Tool,
                Scope = c.Variant.Scope,
                Vcpus = c.Variant.Vcpus,
                Baseline = analysis.IsBaseline(c.Variant),
                Ok = c.Ok,
                Failed = c.Failed,
                WallMedian = c.Wall?.Value,
                WallLow = c.Wall?.Low,
                WallHigh = c.Wall?.High,
                CpuMedian = c.Cpu?.Value,
                CpuLow = c.Cpu?.Low,
                CpuHigh = c.Cpu?.High,
                CyclesMedian = c.Cycles?.Value,
                InstructionsMedian = c.Instructions,
                MipsMedian = c.Mips?.Value,
                MipsLow = c.Mips?.Low,
                MipsHigh = c.Mips?.High,
                Slowdown = c.Slowdown?.Value,
                SlowdownLow = c.Slowdown?.Low,
                SlowdownHigh = c.Slowdown?.High,
            });
        }
        foreach (var s in analysis.VariantSummaries)
        {
            rows.Add(new SummaryRow
            {
                Workload = "geomean",
                Engine = s.Variant.Engine,
                Tier = s.Variant.Tier,
                Tool = s.Variant.Tool,
                Scope = s.Variant.Scope,
                Vcpus = s.Variant.Vcpus,
                MipsMedian = s.GeomeanMips?.Value,
                MipsLow = s.GeomeanMips?.Low,
                MipsHigh = s.GeomeanMips?.High,
                Slowdown = s.GeomeanSlowdown?.Value,
                SlowdownLow = s.GeomeanSlowdown?.Low,
                SlowdownHigh = s.GeomeanSlowdown?.High,
            });
        }
        var path = Path.Combine(directory, FileName);
        using var writer = new StreamWriter(path);
        using var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
        csv.Context.RegisterClassMap(new SnakeCaseMap<SummaryRow>());
        csv.WriteRecords(rows);
        return path;
    }

    /// <summary>Maps every property to its snake_case name, like the JSON and runs.csv.</summary>
    private sealed class SnakeCaseMap<T> : ClassMap<T>
    {
        public SnakeCaseMap()
        {
            AutoMap(CultureInfo.InvariantCulture);
            foreach (var member in MemberMaps)
                member.Name(System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Data.Member!.Name));
        }
    }
}
