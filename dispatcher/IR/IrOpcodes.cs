namespace Drk.Dispatcher.IR;

/// <summary>Facts about opcodes that several passes need to agree on.</summary>
public static class IrOpcodes
{
    /// <summary>
    /// True for ops that may end the block with a fault at their guest instruction (which then
    /// retires nothing): memory accesses, divisions, Raise/RaiseIf and system instructions.
    /// </summary>
    public static bool MayFault(IrOpcode code) => code is
        IrOpcode.Load or IrOpcode.Store or
        IrOpcode.DivU or IrOpcode.DivS or IrOpcode.RemU or IrOpcode.RemS or
        IrOpcode.Raise or IrOpcode.RaiseIf or IrOpcode.System;
}
