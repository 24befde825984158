using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tools;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// <c>selftest</c> on one vCPU with a <see cref="RecordingTool"/>, three times: interpreted under
/// kernel+modules, and on the auto tier under modules and under kernel; made once, two at a time,
/// for the tests that read them (an xunit class fixture).
/// </summary>
public sealed class RecordedSelftestRuns
{
    private readonly Lazy<Runs> _runs = new(Make, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The three runs, with the images they booted.</summary>
    public sealed record Runs(GuestImages Images, (ToolRunOutcome Run, RecordingTool Tool)[] All)
    {
        public (ToolRunOutcome Run, RecordingTool Tool) Both => All[0];
        public (ToolRunOutcome Run, RecordingTool Tool) ModulesOnly => All[1];
        public (ToolRunOutcome Run, RecordingTool Tool) KernelOnly => All[2];
    }

    /// <summary>The runs (skips the calling test when the guest cannot be built).</summary>
    public Runs Get() => _runs.Value;

    private static Runs Make()
    {
        var images = GuestImages.Require();
        (ExecutionTier Tier, InstrumentationScope Scope)[] configurations =
            [(ExecutionTier.Interpreter, InstrumentationScope.KernelAndModules), (ExecutionTier.Auto, InstrumentationScope.Modules), (ExecutionTier.Auto, InstrumentationScope.Kernel)];
        var all = new (ToolRunOutcome, RecordingTool)[configurations.Length];
        Parallel.For(0, configurations.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var (tier, scope) = configurations[i];
            var tool = new RecordingTool();
            var run = InProcessRun.Run(images, "selftest", 1, tier, [tool], scope, $"selftest, {tier}, recording tool, scope {InstrumentationScopeNames.Name(scope)}");
            all[i] = (run, tool);
        });
        return new Runs(images, all);
    }
}
