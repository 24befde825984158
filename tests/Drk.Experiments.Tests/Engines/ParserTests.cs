using Drk.Experiments.Engines;

namespace Drk.Experiments.Tests.Engines;

public sealed class ParserTests
{
    [Fact]
    public void A_result_line_is_parsed_with_its_fields()
    {
        Assert.True(GuestResultParser.TryParse("result workload=pipe iterations=20000 checksum=0x5eed cycles=123456 extra=1\r", out var r));

        Assert.Equal("pipe", r.Workload);
        Assert.Equal(20000, r.Iterations);
        Assert.Equal("0x5eed", r.Checksum);
        Assert.Equal(123456, r.Cycles);
        Assert.Equal("1", r.Fields["extra"]);
    }

    [Theory]
    [InlineData("results workload=x")]
    [InlineData("result iterations=3")]
    [InlineData("result workload=x garbage")]
    [InlineData("[    0.1] booting")]
    public void Other_lines_are_not_results(string line) => Assert.False(GuestResultParser.TryParse(line, out _));

    [Fact]
    public void Only_result_lines_are_collected_from_console_output()
    {
        var results = GuestResultParser.ParseAll(["boot", "result workload=a cycles=0x10", "noise", "result workload=b"]);

        Assert.Equal(["a", "b"], results.Select(r => r.Workload));
        Assert.Equal(16, results[0].Cycles);
    }

    [Fact]
    public void Drk_statistics_give_instructions_and_the_rest_as_stats()
    {
        var (instructions, stats) = DrkStatsParser.Parse(
        [
            "instructions: 1,234,567",
            "fragments=321",
            "stat tool.inscount.blocks 99",
            "the guest said: hello",
            "ratio: 0.5",
        ]);

        Assert.Equal(1_234_567, instructions);
        Assert.Equal(321, stats["fragments"]);
        Assert.Equal(99, stats["tool.inscount.blocks"]);
        Assert.Equal(0.5, stats["ratio"]);
        Assert.Equal(3, stats.Count);
    }

    [Fact]
    public void Tool_report_lines_become_statistics_named_by_tool_and_key()
    {
        // What drk run --tool inscount,null --stats prints at machine stop (tools/inscount, tools/null).
        var (_, stats) = DrkStatsParser.Parse(
        [
            "inscount: scope=kernel+modules total=10095115 kernel=10020973 modules=74142",
            "inscount: module=chardev count=74142",
            "null: blocks-translated=1339 instructions-translated=5950 kernel-entries=1003 modules-loaded=0 context-switches=12",
            "tools: inscount,null scope=kernel+modules",
            "links: 63652115 hits, 5404 misses (100.0% hit rate)",
        ]);

        Assert.Equal(10_095_115, stats["inscount.total"]);
        Assert.Equal(10_020_973, stats["inscount.kernel"]);
        Assert.Equal(74_142, stats["inscount.modules"]);
        Assert.Equal(74_142, stats["inscount.module.chardev.count"]);
        Assert.Equal(1003, stats["null.kernel-entries"]);
        Assert.Equal(0, stats["null.modules-loaded"]);
        Assert.Equal(12, stats["null.context-switches"]);
        // The scope is the run's setting, not a count; the tools line and the prose line are not statistics.
        Assert.DoesNotContain(stats.Keys, k => k.Contains("scope", StringComparison.Ordinal) || k.StartsWith("tools", StringComparison.Ordinal) || k.StartsWith("links", StringComparison.Ordinal));
        Assert.Equal(9, stats.Count);
    }
}
