using Drk.Guest.Tests;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// Every bad invocation of <c>drk run</c> ends with one line on standard error and its documented
/// status (docs/running.md), never a stack trace, and runs nothing.
/// </summary>
public sealed class BadInputTests
{
    private static readonly string GoodImage = TestElf.WriteTemporary(TestElf.FromCode(a => { a.xor(eax, eax); a.@out(0xf4, eax); }), "exit0.elf");

    public static TheoryData<string, string[], int> Cases => new()
    {
        { "no kernel", ["run"], 64 },
        { "unknown option", ["run", GoodImage, "--frobnicate"], 64 },
        { "extra argument", ["run", GoodImage, "surplus"], 64 },
        { "--smp 0", ["run", GoodImage, "--smp", "0"], 64 },
        { "--smp not a number", ["run", GoodImage, "--smp", "two"], 64 },
        { "--smp without a value", ["run", GoodImage, "--smp"], 64 },
        { "--memory with a bad unit", ["run", GoodImage, "--memory", "12Q"], 64 },
        { "--memory too small", ["run", GoodImage, "--memory", "512K"], 64 },
        { "--max-instructions 0", ["run", GoodImage, "--max-instructions", "0"], 64 },
        { "--tier that does not exist", ["run", GoodImage, "--tier", "warp"], 64 },
        { "missing kernel", ["run", "/nonexistent/kernel.elf"], 66 },
        { "kernel is a directory", ["run", Path.GetTempPath()], 66 },
        { "missing initrd", ["run", GoodImage, "--initrd", "/nonexistent/initrd"], 66 },
        { "missing serial input", ["run", GoodImage, "--serial-in", "/nonexistent/input"], 66 },
        { "serial output in a missing directory", ["run", GoodImage, "--serial-out", "/nonexistent/dir/out.txt"], 73 },
        { "not an ELF", ["run", TestElf.WriteTemporary(new byte[4096], "zeros.elf")], 65 },
        { "truncated ELF", ["run", TestElf.WriteTemporary(File.ReadAllBytes(GoodImage)[..100], "truncated.elf")], 65 },
        { "32-bit ELF", ["run", TestElf.WriteTemporary(WithByte(File.ReadAllBytes(GoodImage), 4, 1), "class32.elf")], 65 },
        { "image beyond RAM", ["run", TestElf.WriteTemporary(TestElf.Build(0x20_0000, new TestElf.Segment(0x20_0000, [0xf4])), "high.elf"), "--memory", "1M"], 65 },
        { "command line too long", ["run", GoodImage, "--append", new string('x', 5000)], 65 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_is_one_line_and_a_documented_status(string what, string[] args, int status)
    {
        var r = await DrkCli.RunAsync(args);

        Assert.True(r.ExitCode == status, $"{what}: expected {status}\n{DrkCli.Describe(r)}");
        var lines = r.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"{what}: expected one line on stderr\n{DrkCli.Describe(r)}");
        Assert.StartsWith("drk run: ", lines[0]);
        Assert.DoesNotContain("   at ", r.StandardError);
        Assert.Equal("", r.StandardOutput);
    }

    [Fact]
    public async Task A_good_image_with_the_same_options_runs()
    {
        var r = await DrkCli.RunAsync(["run", GoodImage, "--smp", "2", "--memory", "64M", "--max-instructions", "1_000", "--tier", "interp"]);

        Assert.True(r.ExitCode == 0, DrkCli.Describe(r));
    }

    [Fact]
    public async Task Run_help_shows_the_usage_the_experiment_runner_probes_for()
    {
        var r = await DrkCli.RunAsync(["run", "--help"]);

        Assert.Equal(0, r.ExitCode);
        Assert.Contains(r.StandardOutput.Split('\n'), l => l.Trim().StartsWith("drk run", StringComparison.Ordinal));
    }

    private static byte[] WithByte(byte[] image, int offset, byte value)
    {
        image[offset] = value;
        return image;
    }
}
