using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers CPUID, RDTSC(P), and the privileged instructions, lowered to System ops executed by the hypervisor.</summary>
/// <remarks>
/// Operands follow the documentation of each <see cref="SystemOp"/> member. Memory operands
/// that the helper reads or writes itself (LGDT, SGDT, ...) are passed as linear addresses;
/// memory operands of MOV Sreg, LTR and STR are loaded or stored here, before or after the op.
/// A System op that may change control flow, the machine mode or what later instructions
/// mean ends the block: IRETQ, SYSCALL and SYSRETQ through an indirect exit to the RIP the
/// helper set, all others with an exit to the next instruction. Only pure reads (CPUID,
/// RDTSC(P), RDMSR, IN, reads of control, segment and descriptor-table registers) let the
/// block go on. The 32-bit IRETD and SYSRETD (returns to compatibility mode) are #UD.
/// </remarks>
public sealed class SystemLowering : IInstructionLowering
{
    /// <inheritdoc />
    public bool TryLower(LoweringContext cx)
    {
        ref readonly var i = ref cx.Insn;
        switch (i.Code)
        {
            case Code.Cpuid:
                Call(cx, SystemOp.Cpuid);
                return true;
            case Code.Rdtsc:
                Call(cx, SystemOp.Rdtsc);
                return true;
            case Code.Rdtscp:
                Call(cx, SystemOp.Rdtscp);
                return true;
            case Code.Rdmsr:
                Call(cx, SystemOp.Rdmsr);
                return true;
            case Code.Wrmsr:
                CallAndExit(cx, SystemOp.Wrmsr);
                return true;
            case Code.Cli:
                CallAndExit(cx, SystemOp.Cli);
                return true;
            case Code.Sti:
                CallAndExit(cx, SystemOp.Sti);
                return true;
            case Code.Hlt:
                CallAndExit(cx, SystemOp.Hlt);
                return true;
            case Code.Swapgs:
                CallAndExit(cx, SystemOp.Swapgs);
                return true;
            case Code.Wbinvd:
                CallAndExit(cx, SystemOp.Wbinvd);
                return true;
            case Code.Iretq:
                CallAndJump(cx, SystemOp.Iretq, IrValue.None);
                return true;
            case Code.Syscall:
                CallAndJump(cx, SystemOp.Syscall, cx.Const64(cx.NextRip));
                return true;
            case Code.Sysretq:
                CallAndJump(cx, SystemOp.Sysretq, IrValue.None);
                return true;
            case Code.Retfw or Code.Retfd or Code.Retfq or Code.Retfw_imm16 or Code.Retfd_imm16 or Code.Retfq_imm16:
                LowerFarReturn(cx);
                return true;
            case Code.Mov_r64_cr:
            {
                var value = cx.B.System(SystemOp.ReadCr, cx.Const64(ControlRegister(i.Op1Register)), IrValue.None);
                cx.WriteGpr(i.Op0Register, value);
                return true;
            }
            case Code.Mov_cr_r64:
                CallAndExit(cx, SystemOp.WriteCr, cx.Const64(ControlRegister(i.Op0Register)), cx.ReadGpr(i.Op1Register));
                return true;
            case Code.Lgdt_m1664:
                CallAndExit(cx, SystemOp.Lgdt, cx.EffectiveAddress());
                return true;
            case Code.Lidt_m1664:
                CallAndExit(cx, SystemOp.Lidt, cx.EffectiveAddress());
                return true;
            case Code.Sgdt_m1664:
                Call(cx, SystemOp.Sgdt, cx.EffectiveAddress());
                return true;
            case Code.Sidt_m1664:
                Call(cx, SystemOp.Sidt, cx.EffectiveAddress());
                return true;
            case Code.Invlpg_m:
                CallAndExit(cx, SystemOp.Invlpg, cx.EffectiveAddress());
                return true;
            case Code.Clflush_m8 or Code.Clflushopt_m8:
                CallAndExit(cx, SystemOp.Clflush, cx.EffectiveAddress());
                return true;
            case Code.Ltr_rm16 or Code.Ltr_r32m16 or Code.Ltr_r64m16:
                CallAndExit(cx, SystemOp.Ltr, Selector(cx));
                return true;
            case Code.Str_rm16 or Code.Str_r32m16 or Code.Str_r64m16:
                WriteSelector(cx, cx.B.System(SystemOp.Str, IrValue.None, IrValue.None));
                return true;
            case Code.In_AL_imm8 or Code.In_AX_imm8 or Code.In_EAX_imm8 or Code.In_AL_DX or Code.In_AX_DX or Code.In_EAX_DX:
                LowerIn(cx);
                return true;
            case Code.Out_imm8_AL or Code.Out_imm8_AX or Code.Out_imm8_EAX or Code.Out_DX_AL or Code.Out_DX_AX or Code.Out_DX_EAX:
                CallAndExit(cx, SystemOp.Out, Port(cx, 0), cx.Const64((ulong)i.Op1Register.GetSize()));
                return true;
            case Code.Rdfsbase_r32 or Code.Rdfsbase_r64:
                ReadSegmentBase(cx, 0);
                return true;
            case Code.Rdgsbase_r32 or Code.Rdgsbase_r64:
                ReadSegmentBase(cx, 1);
                return true;
            case Code.Wrfsbase_r32 or Code.Wrfsbase_r64:
                CallAndExit(cx, SystemOp.WriteSegBase, cx.Const64(0), cx.B.ZExt(IrType.I64, cx.ReadGpr(i.Op0Register)));
                return true;
            case Code.Wrgsbase_r32 or Code.Wrgsbase_r64:
                CallAndExit(cx, SystemOp.WriteSegBase, cx.Const64(1), cx.B.ZExt(IrType.I64, cx.ReadGpr(i.Op0Register)));
                return true;
            case Code.Mov_Sreg_rm16 or Code.Mov_Sreg_r32m16 or Code.Mov_Sreg_r64m16:
                CallAndExit(cx, SystemOp.WriteSegment, cx.Const64(SegmentIndex(i.Op0Register)), Selector(cx, operand: 1));
                return true;
            case Code.Mov_rm16_Sreg or Code.Mov_r32m16_Sreg or Code.Mov_r64m16_Sreg:
                WriteSelector(cx, cx.B.System(SystemOp.ReadSegment, cx.Const64(SegmentIndex(i.Op1Register)), IrValue.None));
                return true;
            case Code.Pushq_FS or Code.Pushq_GS:
            {
                var selector = cx.B.System(SystemOp.ReadSegment, cx.Const64(SegmentIndex(i.Op0Register)), IrValue.None);
                cx.Push(cx.B.ZExt(IrType.I64, cx.B.Trunc(IrType.I16, selector)));
                return true;
            }
            case Code.Popq_FS or Code.Popq_GS:
                LowerPopSegment(cx);
                return true;
            default:
                return false;
        }
    }

    /// <summary>A System op after which the block may go on.</summary>
    private static IrValue Call(LoweringContext cx, SystemOp op, IrValue? a = null, IrValue? b = null) =>
        cx.B.System(op, a ?? IrValue.None, b ?? IrValue.None);

    /// <summary>A System op that ends the block; execution continues at the next instruction.</summary>
    private static void CallAndExit(LoweringContext cx, SystemOp op, IrValue? a = null, IrValue? b = null)
    {
        Call(cx, op, a, b);
        cx.B.Exit(cx.NextRip);
    }

    /// <summary>A System op that sets RIP itself; the block leaves to wherever it went.</summary>
    private static void CallAndJump(LoweringContext cx, SystemOp op, IrValue a)
    {
        Call(cx, op, a);
        cx.B.ExitIndirect(cx.Get(GuestReg.Rip), IndirectKind.System);
    }

    /// <summary>RET far: the hypervisor pops RIP and CS (a = operand size in bytes, b = the imm16 to release) and sets RIP.</summary>
    private static void LowerFarReturn(LoweringContext cx)
    {
        ref readonly var i = ref cx.Insn;
        ulong size = i.Code switch
        {
            Code.Retfw or Code.Retfw_imm16 => 2,
            Code.Retfd or Code.Retfd_imm16 => 4,
            _ => 8,
        };
        ulong release = i.OpCount > 0 ? (ulong)i.Immediate16 : 0;
        Call(cx, SystemOp.FarReturn, cx.Const64(size), cx.Const64(release));
        cx.B.ExitIndirect(cx.Get(GuestReg.Rip), IndirectKind.System);
    }

    private static ulong ControlRegister(Register reg) => (ulong)(reg - Register.CR0);

    /// <summary>Segment register number in Iced order (ES=0, CS=1, SS=2, DS=3, FS=4, GS=5), as <see cref="SystemOp.WriteSegment"/> expects.</summary>
    private static ulong SegmentIndex(Register reg) => (ulong)(reg - Register.ES);

    /// <summary>A 16-bit selector operand (register or memory) zero-extended to I64.</summary>
    private static IrValue Selector(LoweringContext cx, int operand = 0)
    {
        var b = cx.B;
        if (cx.IsMemory(operand)) return b.ZExt(IrType.I64, b.Load(IrType.I16, cx.EffectiveAddress()));
        return b.ZExt(IrType.I64, b.Trunc(IrType.I16, cx.ReadGpr(cx.Insn.GetOpRegister(operand))));
    }

    /// <summary>Stores a selector result: 16 bits to memory, zero-extended into a 32/64-bit register, merged into a 16-bit one.</summary>
    private static void WriteSelector(LoweringContext cx, IrValue result)
    {
        var b = cx.B;
        var selector = b.Trunc(IrType.I16, result);
        if (cx.IsMemory(0))
        {
            b.Store(cx.EffectiveAddress(), selector);
            return;
        }
        var reg = cx.Insn.Op0Register;
        cx.WriteGpr(reg, b.ZExt(LoweringContext.TypeOfSize(reg.GetSize()), selector));
    }

    /// <summary>The port of IN/OUT: imm8, or DX.</summary>
    private static IrValue Port(LoweringContext cx, int operand)
    {
        ref readonly var i = ref cx.Insn;
        if (i.GetOpKind(operand) == OpKind.Immediate8) return cx.Const64(i.Immediate8);
        return cx.B.ZExt(IrType.I64, cx.ReadGpr(Register.DX));
    }

    /// <summary>IN: the value lands in AL/AX (merged) or EAX (zero-extended into RAX).</summary>
    private static void LowerIn(LoweringContext cx)
    {
        var reg = cx.Insn.Op0Register;
        int size = reg.GetSize();
        var value = Call(cx, SystemOp.In, Port(cx, 1), cx.Const64((ulong)size));
        cx.WriteGpr(reg, cx.B.Trunc(LoweringContext.TypeOfSize(size), value));
    }

    private static void ReadSegmentBase(LoweringContext cx, ulong which)
    {
        var reg = cx.Insn.Op0Register;
        var value = Call(cx, SystemOp.ReadSegBase, cx.Const64(which));
        cx.WriteGpr(reg, cx.B.Trunc(LoweringContext.TypeOfSize(reg.GetSize()), value));
    }

    /// <summary>POP FS/GS: load the selector, let the hypervisor load the segment (it may fault), then commit RSP.</summary>
    private static void LowerPopSegment(LoweringContext cx)
    {
        var b = cx.B;
        var (value, newRsp) = cx.PeekPop(IrType.I64);
        var selector = b.ZExt(IrType.I64, b.Trunc(IrType.I16, value));
        Call(cx, SystemOp.WriteSegment, cx.Const64(SegmentIndex(cx.Insn.Op0Register)), selector);
        cx.Put(GuestReg.Rsp, newRsp);
        b.Exit(cx.NextRip);
    }
}
