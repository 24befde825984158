using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers PUSH, POP, PUSHF, POPF, LEAVE and ENTER (general-purpose forms; PUSH/POP FS/GS are system instructions).</summary>
/// <remarks>
/// The stack address size is always 64 bits in 64-bit mode; the operand size (8, or 2 with a
/// 66h prefix) only decides how much is pushed or popped. Stores come before the RSP update so
/// a faulting push leaves RSP as it was.
/// </remarks>
public sealed class StackLowering : IInstructionLowering
{
    /// <summary>
    /// RFLAGS bits POPF may change at CPL 0 (besides the arithmetic ones, which live in the
    /// thunk): TF, IF, DF, IOPL, NT, AC, ID. RF is cleared; VM, VIF, VIP and reserved bits are kept.
    /// </summary>
    private const ulong PopfWritableAtCpl0 =
        Rflags.TF | Rflags.IF | Rflags.DF | Rflags.Iopl | Rflags.NT | Rflags.AC | Rflags.ID;

    /// <inheritdoc />
    public bool TryLower(LoweringContext cx)
    {
        switch (cx.Insn.Code)
        {
            case Code.Push_r16 or Code.Push_r64 or Code.Push_rm16 or Code.Push_rm64
                or Code.Push_imm16 or Code.Pushw_imm8 or Code.Pushq_imm32 or Code.Pushq_imm8:
                cx.Push(cx.ReadOperand(0));
                return true;
            case Code.Pop_r16 or Code.Pop_r64 or Code.Pop_rm16 or Code.Pop_rm64:
                LowerPop(cx);
                return true;
            case Code.Pushfq:
                cx.Push(PushedFlags(cx));
                return true;
            case Code.Pushfw:
                cx.Push(cx.B.Trunc(IrType.I16, PushedFlags(cx)));
                return true;
            case Code.Popfq:
                LowerPopf(cx, IrType.I64);
                return true;
            case Code.Popfw:
                LowerPopf(cx, IrType.I16);
                return true;
            case Code.Leaveq:
                LowerLeave(cx, IrType.I64);
                return true;
            case Code.Leavew:
                LowerLeave(cx, IrType.I16);
                return true;
            case Code.Enterq_imm16_imm8:
                LowerEnter(cx, IrType.I64);
                return true;
            case Code.Enterw_imm16_imm8:
                LowerEnter(cx, IrType.I16);
                return true;
            default:
                return false;
        }
    }

    private static void LowerPop(LoweringContext cx)
    {
        var type = cx.OperandType(0);
        var (value, newRsp) = cx.PeekPop(type);
        if (cx.IsMemory(0))
        {
            // The destination address is computed with RSP already incremented.
            cx.B.Store(cx.EffectiveAddressWithRsp(newRsp), value);
            cx.Put(GuestReg.Rsp, newRsp);
        }
        else
        {
            // RSP first, so POP RSP ends with the popped value (and POP SP merges into the new RSP).
            cx.Put(GuestReg.Rsp, newRsp);
            cx.WriteGpr(cx.Insn.Op0Register, value);
        }
    }

    /// <summary>RFLAGS as PUSHF stores it: RF and VM read as zero, bit 1 as one.</summary>
    private static IrValue PushedFlags(LoweringContext cx)
    {
        var b = cx.B;
        var flags = b.And(cx.Rflags(), cx.Const64(~(Rflags.RF | Rflags.VM)));
        return b.Or(flags, cx.Const64(Rflags.Reserved1));
    }

    /// <summary>
    /// POPF: arithmetic flags from the popped value; TF/DF/NT/AC/ID too; IF and IOPL by privilege
    /// (at CPL &gt; 0 IOPL is kept and IF changes only when CPL &lt;= IOPL); RF cleared. The block
    /// ends after it, because setting IF opens the interrupt window and interrupts are taken at
    /// block boundaries.
    /// </summary>
    /// <remarks>A TF set by POPF is stored but single-step traps are not implemented.</remarks>
    private static void LowerPopf(LoweringContext cx, IrType type)
    {
        var b = cx.B;
        var (popped, newRsp) = cx.PeekPop(type);
        var value = b.ZExt(IrType.I64, popped);
        var old = cx.Get(GuestReg.FlagsOther);
        IrValue writable;
        if (cx.Cpl == 0)
        {
            writable = cx.Const64(PopfWritableAtCpl0);
        }
        else
        {
            var iopl = b.Shift(IrOpcode.Shr, b.And(old, cx.Const64(Rflags.Iopl)), cx.Const8(12));
            var mayChangeIf = b.Compare(IrOpcode.CmpLeU, cx.Const64((ulong)cx.Cpl), iopl);
            const ulong withoutIopl = PopfWritableAtCpl0 & ~Rflags.Iopl;
            writable = b.Select(mayChangeIf, cx.Const64(withoutIopl), cx.Const64(withoutIopl & ~Rflags.IF));
        }
        // A 16-bit POPF changes only the low 16 bits.
        if (type == IrType.I16) writable = b.And(writable, cx.Const64(0xffff));
        var kept = b.And(old, b.Unary(IrOpcode.Not, writable));
        kept = b.And(kept, cx.Const64(~Rflags.RF));
        var taken = b.And(value, writable);
        cx.Put(GuestReg.Rsp, newRsp);
        cx.Put(GuestReg.FlagsOther, b.Or(b.Or(kept, taken), cx.Const64(Rflags.Reserved1)));
        // The six arithmetic flags all lie in the low 16 bits, so POPFW sets them too.
        cx.SetFlagsCopy(value);
        b.Exit(cx.NextRip);
    }

    private static void LowerLeave(LoweringContext cx, IrType type)
    {
        var b = cx.B;
        var rbp = cx.Get(GuestReg.Rbp);
        var saved = b.Load(type, rbp);
        cx.Put(GuestReg.Rsp, b.Add(rbp, cx.Const64((ulong)IrTypes.Bytes(type))));
        cx.WriteGpr(type == IrType.I64 ? Register.RBP : Register.BP, saved);
    }

    /// <summary>
    /// ENTER size, level: push RBP, copy level - 1 frame pointers from the old frame, push the
    /// new frame pointer (level &gt; 0), set RBP to the frame, reserve <c>size</c> bytes.
    /// </summary>
    /// <remarks>
    /// Loads and pushes interleave as in the SDM's pseudo-code, because the old frame may overlap
    /// the bytes just pushed. Registers are written last, so a fault leaves them unchanged (bytes
    /// already stored lie below RSP).
    /// </remarks>
    private static void LowerEnter(LoweringContext cx, IrType type)
    {
        var b = cx.B;
        ulong width = (ulong)IrTypes.Bytes(type);
        ulong allocation = cx.Insn.Immediate16;
        int level = cx.Insn.Immediate8_2nd & 31;
        var rsp = cx.Get(GuestReg.Rsp);
        var rbp = cx.Get(GuestReg.Rbp);

        var frame = b.Sub(rsp, cx.Const64(width));
        b.Store(frame, b.Trunc(type, rbp));
        var top = frame;
        for (int n = 1; n < level; n++)
        {
            var value = b.Load(type, b.Sub(rbp, cx.Const64(width * (ulong)n)));
            top = b.Sub(top, cx.Const64(width));
            b.Store(top, value);
        }
        if (level > 0)
        {
            top = b.Sub(top, cx.Const64(width));
            b.Store(top, b.Trunc(type, frame));
        }
        if (type == IrType.I64)
            cx.Put(GuestReg.Rbp, frame);
        else
            cx.WriteGpr(Register.BP, b.Trunc(IrType.I16, frame));
        cx.Put(GuestReg.Rsp, b.Sub(top, cx.Const64(allocation)));
    }
}
