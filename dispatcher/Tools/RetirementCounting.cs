using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Tools;

/// <summary>
/// Places inline <see cref="IrOpcode.CounterAdd"/> ops so that a counter grows by exactly the
/// number of guest instructions a block retires, by following the tiers' retirement rule.
/// </summary>
/// <remarks>
/// <para>
/// The tiers retire, when a block leaves at an op of guest instruction g: g instructions if the op
/// faults (a Load, Store, division, Raise/RaiseIf or system instruction), g + 1 if it exits
/// (Exit, ExitIndirect, a taken ExitIf, SoftInt, a system instruction that jumps, halts or stops).
/// So the counts are batched and flushed just before each op that may leave: before a possibly
/// faulting op, everything before its instruction; before an exit, its instruction too. A
/// block without memory accesses gets one add; each access costs at most one more.
/// </para>
/// <para>
/// A taken ExitIf in the middle of an instruction (a REP string instruction's end test) retires
/// it; when more of the instruction could fault after the test, the add for it is made
/// conditional on the exit's condition. System instructions that may leave with g + 1 (IRETQ,
/// SYSCALL, SYSRETQ, far RET, HLT, OUT) count their own instruction before they run; if one of
/// them faults instead (a broken IRET frame), the count is one too high. Kernel code that does
/// that does not survive it; the invariant tests hold the count exact on the real guest.
/// </para>
/// </remarks>
internal static class RetirementCounting
{
    public static void Insert(InstrumentedBlock block, int counter)
    {
        var ops = block.Ir.Ops;
        int counted = 0;
        for (int p = 0; p < ops.Length; p++)
        {
            ref readonly var op = ref ops[p];
            int g = op.Guest;
            switch (op.Code)
            {
                case IrOpcode.Exit or IrOpcode.ExitIndirect or IrOpcode.SoftInt:
                    Flush(block, counter, p, g + 1, ref counted);
                    break;
                case IrOpcode.System:
                    Flush(block, counter, p, MayLeaveRetired((SystemOp)op.Aux) ? g + 1 : g, ref counted);
                    break;
                case IrOpcode.ExitIf:
                    if (!MayFaultLater(ops, p))
                    {
                        Flush(block, counter, p, g + 1, ref counted);
                    }
                    else
                    {
                        Flush(block, counter, p, g, ref counted);
                        var ir = block.InsertBeforeOp(p);
                        ir.CounterAdd(counter, ir.ZExt(IrType.I64, new IrValue(op.A, IrType.I1)));
                    }
                    break;
                default:
                    if (IrOpcodes.MayFault(op.Code)) Flush(block, counter, p, g, ref counted);
                    break;
            }
        }
    }

    private static void Flush(InstrumentedBlock block, int counter, int opIndex, int upTo, ref int counted)
    {
        if (upTo <= counted) return;
        var ir = block.InsertBeforeOp(opIndex);
        ir.CounterAdd(counter, ir.Const64((ulong)(upTo - counted)));
        counted = upTo;
    }

    /// <summary>True when an op after <paramref name="p"/> in the same instruction may fault.</summary>
    private static bool MayFaultLater(Span<IrOp> ops, int p)
    {
        int g = ops[p].Guest;
        for (int q = p + 1; q < ops.Length && ops[q].Guest == g; q++)
        {
            if (IrOpcodes.MayFault(ops[q].Code) || ops[q].Code == IrOpcode.ExitIf) return true;
        }
        return false;
    }

    /// <summary>System instructions that may end the block having retired (jump, halt, stop).</summary>
    private static bool MayLeaveRetired(SystemOp op) => op is
        SystemOp.Iretq or SystemOp.Syscall or SystemOp.Sysretq or SystemOp.FarReturn or SystemOp.Hlt or SystemOp.Out;
}
