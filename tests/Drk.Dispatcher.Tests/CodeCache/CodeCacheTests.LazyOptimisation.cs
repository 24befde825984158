using Drk.Dispatcher.Tests.Machine;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.CodeCache;

/// <summary>
/// Blocks are optimised before their second run, not when built: a block that runs once is never
/// optimised, a hot one is, and the results are those of eager optimisation (the JIT tier, which
/// compiles every block before it runs, optimises at build).
/// </summary>
public sealed partial class CodeCacheTests
{
    [Fact]
    public void A_block_is_optimised_before_its_second_run_and_one_that_runs_once_never_is()
    {
        const int once = 40;
        var (interp, jit) = RunBoth(m => m.Load(TestMachine.CodeBase, a =>
        {
            // Forty blocks that run once each: flag-setting arithmetic the optimiser would rewrite.
            a.xor(ebx, ebx);
            for (int i = 0; i < once; i++)
            {
                var next = a.CreateLabel();
                a.add(rbx, i + 1);
                a.imul(rbx, rbx, 3);
                a.jmp(next);
                a.Label(ref next);
            }
            BranchyLoop(a, 5_000);
            StoreResult(a, rbx, 0);
            TestMachine.Exit(a, 1);
        }));

        Assert.NotEqual(0UL, interp.Words[0]);
        // Interpreted: the loop's blocks (and the few that run twice) are optimised, the forty are not.
        Assert.True(interp.Stats.BlocksOptimised >= 3, $"{interp.Stats.BlocksOptimised} optimised");
        Assert.True(interp.Stats.BlocksOptimised <= interp.Cache.Added - once, $"{interp.Stats.BlocksOptimised} of {interp.Cache.Added} optimised");
        // The JIT tier compiles each block before its first run, from optimised IR.
        Assert.Equal(jit.Cache.Added, jit.Stats.BlocksOptimised);
    }
}
