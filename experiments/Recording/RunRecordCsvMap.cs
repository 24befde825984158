using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using CsvHelper.TypeConversion;

namespace Drk.Experiments.Recording;

/// <summary>The columns of <c>runs.csv</c>: the same names as the JSON lines, statistics flattened to <c>name=value;...</c>.</summary>
internal sealed class RunRecordCsvMap : ClassMap<RunRecord>
{
    public RunRecordCsvMap()
    {
        Map(r => r.Key).Name("key");
        Map(r => r.Experiment).Name("experiment");
        Map(r => r.Invocation).Name("invocation");
        Map(r => r.Workload).Name("workload");
        Map(r => r.Engine).Name("engine");
        Map(r => r.Tier).Name("tier");
        Map(r => r.Tool).Name("tool");
        Map(r => r.Scope).Name("scope");
        Map(r => r.Vcpus).Name("vcpus");
        Map(r => r.Warmup).Name("warmup");
        Map(r => r.Repetition).Name("repetition");
        Map(r => r.Status).Name("status").TypeConverter<LowerCaseEnumConverter>();
        Map(r => r.Reason).Name("reason");
        Map(r => r.ExitCode).Name("exit_code");
        Map(r => r.GuestStatus).Name("guest_status");
        Map(r => r.WallSeconds).Name("wall_seconds");
        Map(r => r.CpuSeconds).Name("cpu_seconds");
        Map(r => r.Cycles).Name("cycles");
        Map(r => r.Iterations).Name("iterations");
        Map(r => r.Checksum).Name("checksum");
        Map(r => r.Instructions).Name("instructions");
        Map(r => r.Mips).Name("mips");
        Map(r => r.Stats).Name("stats").TypeConverter<StatsConverter>();
        Map(r => r.StartedUtc).Name("started_utc").TypeConverterOption.Format("O");
        Map(r => r.Host).Name("host");
        Map(r => r.Log).Name("log");
    }

    /// <summary>Writes <see cref="RunStatus"/> as <c>ok</c>/<c>failed</c>, like the JSON.</summary>
    private sealed class LowerCaseEnumConverter : DefaultTypeConverter
    {
        public override string? ConvertToString(object? value, IWriterRow row, MemberMapData memberMapData) =>
            value?.ToString()?.ToLowerInvariant();
    }

    /// <summary>Flattens statistics into one cell, sorted by name so that files diff cleanly.</summary>
    private sealed class StatsConverter : DefaultTypeConverter
    {
        public override string? ConvertToString(object? value, IWriterRow row, MemberMapData memberMapData) =>
            value is IReadOnlyDictionary<string, double> stats
                ? string.Join(';', stats.OrderBy(s => s.Key, StringComparer.Ordinal)
                    .Select(s => $"{s.Key}={s.Value.ToString("R", CultureInfo.InvariantCulture)}"))
                : "";
    }
}
