using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Tools;

namespace Drk.Tools.Null;

/// <summary>
/// The null tool: registers for every event and a block pass that sees every block in scope,
/// and inserts nothing. Its slowdown over no tool is the framework's own cost; its source is the
/// template of a tool.
/// </summary>
public sealed class NullTool : ITool, IBlockPass
{
    private long _blocks;
    private long _instructions;
    private long _kernelEntries;
    private long _contextSwitches;
    private int _modules;

    /// <inheritdoc />
    public string Name => "null";

    /// <inheritdoc />
    public string Description => "sees every block and event, inserts nothing: the framework's own cost";

    /// <inheritdoc />
    public void Start(ToolContext context)
    {
        context.AddBlockPass(this);
        context.ModuleLoaded += (_, _) => _modules++;
        context.ModuleUnloading += (_, _) => { };
        context.KernelEntered += (_, _) => _kernelEntries++;
        context.ContextSwitched += (_, _) => _contextSwitches++;
        context.MachineStopped += result => Report(context.Output, result);
    }

    /// <inheritdoc />
    public void Analyze(InstrumentedBlock block) => _blocks++;

    /// <inheritdoc />
    public void Insert(InstrumentedBlock block) => _instructions += block.Instructions.Count;

    private void Report(TextWriter output, MachineRunResult result) =>
        output.WriteLine($"null: blocks-translated={_blocks} instructions-translated={_instructions} kernel-entries={_kernelEntries} modules-loaded={_modules} context-switches={_contextSwitches}");
}
