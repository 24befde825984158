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
}
