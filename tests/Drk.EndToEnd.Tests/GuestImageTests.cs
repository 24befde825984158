using System.Text.RegularExpressions;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// <c>drk run</c> on tiny images assembled here: the guest's status comes out unchanged; a triple
/// fault, a runaway loop and a deadlock stop with a dump and their own statuses.
/// </summary>
public sealed partial class GuestImageTests
{
    [GeneratedRegex(@"^\s+[0-9a-f]{16}\s+\d+ insns\s+\w+", RegexOptions.Multiline)]
    private static partial Regex RecentBlockLine();

    [Theory]
    [InlineData(0u, 0)]
    [InlineData(5u, 5)]
    [InlineData(63u, 63)]
    [InlineData(300u, 300 & 0xFF)]
    public async Task The_exit_status_is_the_value_the_guest_wrote_to_port_f4(uint written, int status)
    {
        var image = TestElf.WriteTemporary(TestElf.FromCode(a => { a.mov(eax, written); a.@out(0xf4, eax); a.hlt(); }), $"exit{written}.elf");

        var r = await DrkCli.RunAsync(["run", image, "--stats"]);

        Assert.True(r.ExitCode == status, DrkCli.Describe(r));
        Assert.Contains("exit-reason: debug-exit", r.StandardError);
        Assert.Contains($"guest-status: {written}", r.StandardError);
    }

    [Theory]
    [InlineData("interp")]
    [InlineData("jit")]
    [InlineData("auto")]
    public async Task Every_tier_runs_the_guest_to_the_same_status_and_count(string tier)
    {
        var image = TestElf.WriteTemporary(TestElf.FromCode(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 1000);
            a.xor(eax, eax);
            a.Label(ref loop);
            a.add(eax, ecx);
            a.dec(ecx);
            a.jne(loop);
            a.and(eax, 0x3f);
            a.@out(0xf4, eax);
        }), "sum.elf");

        var r = await DrkCli.RunAsync(["run", image, "--tier", tier, "--stats"]);

        Assert.True(r.ExitCode == (500500 & 0x3f), DrkCli.Describe(r));
        Assert.Contains("instructions: 3004", r.StandardError);
        Assert.Contains($"tier: {tier}", r.StandardError);
    }

    [Fact]
    public async Task Ud2_under_an_empty_idt_is_a_triple_fault_with_a_dump()
    {
        var image = TestElf.WriteTemporary(TestElf.FromCode(a =>
        {
            var idtr = a.CreateLabel();
            a.lidt(__[idtr]);
            a.mov(ebx, 0xb0b);
            a.ud2();
            a.Label(ref idtr);
            a.dw(0);    // limit 0
            a.dq(0);    // base 0
        }), "triple.elf");

        var r = await DrkCli.RunAsync(["run", image, "--stats"]);

        Assert.True(r.ExitCode == 80, DrkCli.Describe(r));
        Assert.Contains("triple fault", r.StandardError);
        Assert.Contains("rbx=0000000000000b0b", r.StandardError);
        Assert.Matches(RecentBlockLine(), r.StandardError);
        Assert.Contains("exit-reason: triple-fault", r.StandardError);
        Assert.DoesNotContain("   at ", r.StandardError);
    }

    [Fact]
    public async Task A_runaway_loop_is_stopped_by_max_instructions_with_a_dump()
    {
        var image = TestElf.WriteTemporary(TestElf.FromCode(a => { var self = a.CreateLabel(); a.Label(ref self); a.jmp(self); }), "runaway.elf");

        var r = await DrkCli.RunAsync(["run", image, "--max-instructions", "2000000", "--stats"]);

        Assert.True(r.ExitCode == 81, DrkCli.Describe(r));
        Assert.Contains("instructions: 2000000", r.StandardError);
        Assert.Contains("exit-reason: max-instructions", r.StandardError);
        Assert.Matches(RecentBlockLine(), r.StandardError);
    }

    [Fact]
    public async Task Cli_hlt_is_a_deadlock_with_a_dump()
    {
        var image = TestElf.WriteTemporary(TestElf.FromCode(a => { a.cli(); a.hlt(); }), "deadlock.elf");

        var r = await DrkCli.RunAsync(["run", image, "--smp", "2"]);

        Assert.True(r.ExitCode == 82, DrkCli.Describe(r));
        Assert.Contains("deadlock", r.StandardError);
        Assert.Contains("vCPU 1 (waiting for STARTUP)", r.StandardError);
    }

    [Fact]
    public async Task Serial_output_goes_to_the_file_given()
    {
        var image = TestElf.WriteTemporary(TestElf.FromCode(a =>
        {
            a.mov(dx, 0x3f8);
            foreach (char c in "hi\n")
            {
                a.mov(al, (byte)c);
                a.@out(dx, al);
            }
            a.xor(eax, eax);
            a.@out(0xf4, eax);
        }), "hello.elf");
        var output = Path.Combine(Path.GetDirectoryName(image)!, "serial.txt");

        var r = await DrkCli.RunAsync(["run", image, "--serial-out", output]);

        Assert.True(r.ExitCode == 0, DrkCli.Describe(r));
        Assert.Equal("", r.StandardOutput);
        Assert.Equal("hi\n", File.ReadAllText(output));
    }
}
