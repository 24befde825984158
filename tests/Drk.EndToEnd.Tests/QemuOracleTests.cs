using System.Globalization;
using System.Text.RegularExpressions;
using Drk.Guest.Tests;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// QEMU as the oracle: the guest kernel's serial output under <c>drk run</c> equals QEMU's line for
/// line, once the lines the guest ABI marks as timing (<c>[t]</c>) or as describing the machine
/// (<c>[m]</c>: memory map, ACPI) are dropped and the cycle counts of workload result lines are
/// masked, and both report the same guest status.
/// </summary>
public sealed partial class QemuOracleTests
{
    /// <summary>Guest command lines compared with QEMU, each with every count of <see cref="CpuCounts"/>.</summary>
    private static readonly string[] CommandLines = ["selftest", "run=all"];

    private static readonly int[] CpuCounts = [1, 2];

    /// <summary>run=all retires about 10^9 instructions: half a minute on the interpreter, more on a busy machine.</summary>
    private static readonly TimeSpan DrkTimeout = TimeSpan.FromMinutes(6);

    public static TheoryData<string, int> Cases
    {
        get
        {
            var cases = new TheoryData<string, int>();
            foreach (var commandLine in CommandLines)
                foreach (var cpus in CpuCounts)
                    cases.Add(commandLine, cpus);
            return cases;
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public async Task Drk_prints_what_QEMU_prints(string commandLine, int cpus)
    {
        var build = GuestPrerequisites.RequireBoot();
        var qemuRun = QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath, commandLine, cpus));
        var drkRun = DrkCli.RunAsync(["run", build.KernelPath, "--initrd", build.InitrdPath, "--append", commandLine,
                                      "--smp", cpus.ToString(CultureInfo.InvariantCulture)], DrkTimeout);
        var qemu = await qemuRun;
        var drk = await drkRun;

        Assert.True(qemu.GuestStatus is not null, qemu.Describe());
        Assert.True(drk.ExitCode == qemu.GuestStatus, $"QEMU: guest status {qemu.GuestStatus}\n{qemu.Describe()}\n{DrkCli.Describe(drk)}");
        var expected = Comparable(qemu.Serial);
        var actual = Comparable(SerialOutput.Normalize(drk.StandardOutput));
        SerialAssert.SameLines(expected, actual, "QEMU", "Drk");
    }

    /// <summary>The RDTSC delta of a workload's <c>result ...</c> line: timing, like <c>[t]</c> lines.</summary>
    [GeneratedRegex(@"(?<=^result .*\bcycles=)\d+", RegexOptions.Multiline)]
    private static partial Regex ResultCycles();

    private static string[] Comparable(string serial) =>
        ResultCycles().Replace(SerialOutput.WithoutTimingAndMachineLines(serial), "*").TrimEnd('\n').Split('\n');
}
