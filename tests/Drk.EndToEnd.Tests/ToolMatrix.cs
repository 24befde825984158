using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tools;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// Which tier x tool x scope cells the transparency tests run, for each workload and vCPU count.
/// </summary>
/// <remarks>
/// <para>
/// The full product (3 tiers x (no tool + 2 tools x 3 scopes) x 2 workloads x 2 vCPU counts, 84
/// boots) would take many minutes, the JIT tier most of them: it compiles every block it meets
/// (about 5,000 for a selftest, a few seconds). So the matrix covers every tier x tool x scope
/// cell at least once for <c>selftest</c> and a reduced set for <c>run=all</c>:
/// </para>
/// <list type="bullet">
/// <item><c>selftest --smp 1</c>: the interpreter and auto with no tool and each tool under each
/// scope (the full product for those two tiers); the JIT with null under kernel and modules and
/// inscount under kernel+modules.</item>
/// <item><c>selftest --smp 2</c>: the interpreter with no tool, inscount under each scope and
/// null under kernel+modules; auto with no tool, null under kernel and modules and inscount
/// under kernel+modules; the JIT with the three JIT cells <c>--smp 1</c> left out (inscount
/// under kernel and modules, null under kernel+modules).</item>
/// <item><c>run=all</c> (every workload once: <c>iterations=1</c>), each vCPU count: no tool on
/// every tier, null and inscount together on the JIT under kernel+modules, inscount under
/// kernel and under modules on auto and under kernel+modules on the interpreter.</item>
/// <item><see cref="FastTimerSelftest"/> <c>--smp 2</c>: no tool on every tier, null under
/// kernel+modules and inscount under kernel and under modules on auto, inscount under
/// kernel+modules on the interpreter.</item>
/// </list>
/// <para>
/// Every configuration of a row is compared with that row's first (the interpreter, no tool),
/// and every row with inscount under the three scopes on one tier also gives the exactness
/// checks of <see cref="ToolInvariantTests"/>.
/// </para>
/// </remarks>
public static class ToolMatrix
{
    /// <summary>The <c>run=all</c> command line: each workload once, so the suite's own work is small next to its boot and module loads.</summary>
    public const string RunAll = "run=all iterations=1";

    /// <summary>
    /// The selftest with the APIC timer at its shortest (<c>timer=1000</c>: on drk's clock of one
    /// tick per retired instruction and the divide by 16, an interrupt every 16,000 instructions
    /// against 10 million by default): interrupts land at many more block boundaries,
    /// inside traces' loops and tools' instrumentation alike, and every tier and tool must still
    /// deliver each at the same instruction.
    /// </summary>
    public const string FastTimerSelftest = "selftest timer=1000";

    private const InstrumentationScope Kernel = InstrumentationScope.Kernel;
    private const InstrumentationScope Both = InstrumentationScope.KernelAndModules;
    private const InstrumentationScope Modules = InstrumentationScope.Modules;

    private static readonly InstrumentationScope[] Scopes = [Kernel, Both, Modules];

    /// <summary>The configurations for <paramref name="commandLine"/> on <paramref name="cpus"/> vCPUs; the first is the reference.</summary>
    public static IReadOnlyList<ToolConfiguration> For(string commandLine, int cpus)
    {
        var list = new List<ToolConfiguration> { ToolConfiguration.Bare(ExecutionTier.Interpreter) };
        if (commandLine == FastTimerSelftest)
        {
            list.Add(ToolConfiguration.Bare(ExecutionTier.Jit));
            list.Add(ToolConfiguration.Bare(ExecutionTier.Auto));
            list.Add(ToolConfiguration.With(ExecutionTier.Auto, "null", Both));
            list.Add(ToolConfiguration.With(ExecutionTier.Auto, "inscount", Kernel));
            list.Add(ToolConfiguration.With(ExecutionTier.Auto, "inscount", Modules));
            list.Add(ToolConfiguration.With(ExecutionTier.Interpreter, "inscount", Both));
        }
        else if (commandLine == "selftest" && cpus == 1)
        {
            foreach (var tier in new[] { ExecutionTier.Interpreter, ExecutionTier.Auto })
            {
                if (tier != ExecutionTier.Interpreter) list.Add(ToolConfiguration.Bare(tier));
                foreach (var tool in new[] { "null", "inscount" })
                    foreach (var scope in Scopes)
                        list.Add(ToolConfiguration.With(tier, tool, scope));
            }
            list.Add(ToolConfiguration.With(ExecutionTier.Jit, "null", Kernel));
            list.Add(ToolConfiguration.With(ExecutionTier.Jit, "inscount", Both));
            list.Add(ToolConfiguration.With(ExecutionTier.Jit, "null", Modules));
        }
        else if (commandLine == "selftest")
        {
            foreach (var scope in Scopes) list.Add(ToolConfiguration.With(ExecutionTier.Interpreter, "inscount", scope));
            list.Add(ToolConfiguration.With(ExecutionTier.Interpreter, "null", Both));
            list.Add(ToolConfiguration.Bare(ExecutionTier.Auto));
            list.Add(ToolConfiguration.With(ExecutionTier.Auto, "null", Kernel));
            list.Add(ToolConfiguration.With(ExecutionTier.Auto, "inscount", Both));
            list.Add(ToolConfiguration.With(ExecutionTier.Auto, "null", Modules));
            list.Add(ToolConfiguration.With(ExecutionTier.Jit, "inscount", Kernel));
            list.Add(ToolConfiguration.With(ExecutionTier.Jit, "null", Both));
            list.Add(ToolConfiguration.With(ExecutionTier.Jit, "inscount", Modules));
        }
        else
        {
            list.Add(ToolConfiguration.With(ExecutionTier.Interpreter, "inscount", Both));
            list.Add(ToolConfiguration.Bare(ExecutionTier.Auto));
            list.Add(ToolConfiguration.With(ExecutionTier.Auto, "inscount", Kernel));
            list.Add(ToolConfiguration.With(ExecutionTier.Auto, "inscount", Modules));
            list.Add(ToolConfiguration.Bare(ExecutionTier.Jit));
            list.Add(ToolConfiguration.With(ExecutionTier.Jit, "null,inscount", Both));
        }
        return list;
    }
}
