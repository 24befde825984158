using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Execution;

/// <summary>Executes the inline tool operations (<see cref="IrOpcode.Meta"/> ops) of one kind (the op's Aux).</summary>
public interface IMetaOpHandler
{
    /// <summary>
    /// Executes <paramref name="op"/> with the values of its operands (absent ones are 0) and
    /// returns the value of its result temp, if it has one. Must not change guest state.
    /// </summary>
    ulong Execute(in IrOp op, ulong a, ulong b, ulong c, ulong d, VcpuState state);
}
