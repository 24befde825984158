using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Cli.Bench;

/// <summary>
/// A fresh <see cref="InterpreterLoop"/> machine over one kind of guest memory: the vCPU state at the
/// loop's entry and the memory a runner executes it from. Disposing frees the RAM of the Mmu kind.
/// </summary>
internal sealed class LoopMachine : IDisposable
{
    private readonly PhysicalMemory? _physical;

    public LoopMachine(InterpreterLoop loop, BenchMemory kind)
    {
        State = InterpreterLoop.CreateState(2);
        _physical = kind == BenchMemory.Mmu ? new PhysicalMemory(16UL << 20) : null;
        Memory = _physical is null ? loop.CreateMemory() : loop.CreateMmu(_physical, State);
    }

    /// <summary>The vCPU, at the loop's entry for a short run (reset it for a timed one).</summary>
    public VcpuState State { get; }

    /// <summary>The guest memory with the loop's code and data.</summary>
    public IGuestMemory Memory { get; }

    public void Dispose() => _physical?.Dispose();
}
