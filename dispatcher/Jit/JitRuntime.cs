using Drk.Dispatcher.Execution;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// The machine that one vCPU's compiled blocks run against: its guest memory, the system
/// instructions, the tools' clean-call table and Meta-op handlers, as the interpreter has them.
/// </summary>
/// <remarks>Give it the interpreter's <see cref="CleanCallTable"/> so both tiers call the same callbacks. Not thread-safe: one per vCPU.</remarks>
public sealed class JitRuntime
{
    private readonly IMetaOpHandler?[] _metaHandlers = new IMetaOpHandler?[256];

    public JitRuntime(IGuestMemory memory, ISystemInstructions? system = null, CleanCallTable? cleanCalls = null)
    {
        Memory = memory;
        System = system;
        CleanCalls = cleanCalls ?? new CleanCallTable();
    }

    /// <summary>The vCPU's guest memory; an <see cref="Mmu"/> gets the soft-TLB fast path inlined.</summary>
    public IGuestMemory Memory { get; }

    /// <summary>The system-instruction implementation; when null, system instructions raise #UD.</summary>
    public ISystemInstructions? System { get; }

    /// <summary>The callbacks CleanCall ops invoke.</summary>
    public CleanCallTable CleanCalls { get; }

    /// <summary>Executes Meta ops whose Aux is <paramref name="kind"/> with <paramref name="handler"/>; Meta ops without a handler do nothing and yield 0 (as in the interpreter).</summary>
    public void RegisterMetaHandler(byte kind, IMetaOpHandler handler) => _metaHandlers[kind] = handler;

    internal IMetaOpHandler? MetaHandler(byte kind) => _metaHandlers[kind];
}
