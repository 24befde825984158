using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Jit;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// The transparency invariant across tiers: the guest kernel's self-tests, booted and run by the
/// run loop, print the same serial output and retire the same number of instructions whether
/// blocks are interpreted, all compiled, or tiered up in the background. Skipped when the guest
/// kernel has not been built (<c>make -C guest</c>).
/// </summary>
public sealed class JitGuestInvariantTests
{
    [SkippableTheory]
    [InlineData("selftest", 1)]
    [InlineData("selftest", 2)]
    public void The_guest_sees_the_same_machine_on_every_tier(string commandLine, int cpus)
    {
        var (kernel, initrd) = GuestRun.ImagesOrSkip();
        var reference = GuestRun.Run(kernel, initrd, commandLine, cpus, Options(ExecutionTier.Interpreter));
        foreach (var tier in new[] { ExecutionTier.Jit, ExecutionTier.Auto })
        {
            long compiled = 0;
            var run = GuestRun.Run(kernel, initrd, commandLine, cpus, Options(tier), runner =>
            {
                // Each vCPU has its own code cache and JIT tier.
                foreach (var vcpu in runner.Vcpus) compiled += vcpu.Jit?.Statistics.BlocksCompiled ?? 0;
            });
            string where = $"{commandLine}, {cpus} vCPU(s), {tier}";
            GuestRun.AssertSameMachine(reference, run, where);
            Assert.True(compiled > 0, $"{where}: nothing was compiled");
        }
    }

    private static MachineRunOptions Options(ExecutionTier tier) => new() { Tier = tier, MaxInstructions = 2_000_000_000 };
}
