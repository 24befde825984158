using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers JMP, Jcc, JRCXZ/JECXZ, LOOP/LOOPE/LOOPNE, CALL, RET, INT n, INT3, UD2 (near forms; far transfers are #UD).</summary>
/// <remarks>
/// Every instruction here ends the block. A non-canonical target raises #GP(0) at the branch
/// itself, before CALL pushes or RET pops, as the SDM specifies for 64-bit mode. Direct targets become <see cref="IrOpcode.Exit"/> /
/// <see cref="IrOpcode.ExitIf"/> with the target RIP Iced computed (already truncated for a
/// 16-bit operand size); register and memory targets become <see cref="IrOpcode.ExitIndirect"/>
/// tagged Jump, Call or Return for the indirect-branch table and CFI-style tools.
/// </remarks>
public sealed class ControlFlowLowering : IInstructionLowering
{
    /// <inheritdoc />
    public bool TryLower(LoweringContext cx)
    {
        ref readonly var i = ref cx.Insn;
        switch (i.Mnemonic)
        {
            case Mnemonic.Jmp:
                return LowerJmp(cx);
            case Mnemonic.Ja or Mnemonic.Jae or Mnemonic.Jb or Mnemonic.Jbe or Mnemonic.Je or Mnemonic.Jg
                or Mnemonic.Jge or Mnemonic.Jl or Mnemonic.Jle or Mnemonic.Jne or Mnemonic.Jno or Mnemonic.Jnp
                or Mnemonic.Jns or Mnemonic.Jo or Mnemonic.Jp or Mnemonic.Js:
                BranchIf(cx, cx.Condition(ConditionCodes.From(i.ConditionCode)), i.NearBranchTarget);
                cx.B.Exit(cx.NextRip);
                return true;
            case Mnemonic.Jrcxz or Mnemonic.Jecxz:
                LowerJumpIfCounterZero(cx);
                return true;
            case Mnemonic.Loop or Mnemonic.Loope or Mnemonic.Loopne:
                LowerLoop(cx);
                return true;
            case Mnemonic.Call:
                return LowerCall(cx);
            case Mnemonic.Ret:
                LowerRet(cx);
                return true;
            case Mnemonic.Int3:
                cx.B.SoftInt(3, cx.NextRip);
                return true;
            case Mnemonic.Int:
                cx.B.SoftInt(i.Immediate8, cx.NextRip);
                return true;
            case Mnemonic.Ud2:
                cx.B.Raise(ExceptionVector.InvalidOpcode);
                return true;
            default:
                return false;
        }
    }

    private static bool LowerJmp(LoweringContext cx)
    {
        ref readonly var i = ref cx.Insn;
        switch (i.Code)
        {
            case Code.Jmp_rel8_64 or Code.Jmp_rel32_64 or Code.Jmp_rel8_16 or Code.Jmp_rel16:
                Branch(cx, i.NearBranchTarget);
                return true;
            case Code.Jmp_rm64 or Code.Jmp_rm16:
            {
                var target = cx.B.ZExt(IrType.I64, cx.ReadOperand(0));
                cx.RaiseIfNonCanonical(target);
                cx.B.ExitIndirect(target, IndirectKind.Jump);
                return true;
            }
            default:
                return false; // far jumps
        }
    }

    /// <summary>True when the counter of JECXZ/LOOPcc is ECX (67h prefix) rather than RCX.</summary>
    private static bool CountsInEcx(Code code) =>
        code is Code.Jecxz_rel8_64 or Code.Jecxz_rel8_16
            or Code.Loop_rel8_64_ECX or Code.Loope_rel8_64_ECX or Code.Loopne_rel8_64_ECX
            or Code.Loop_rel8_16_ECX or Code.Loope_rel8_16_ECX or Code.Loopne_rel8_16_ECX;

    private static void LowerJumpIfCounterZero(LoweringContext cx)
    {
        ref readonly var i = ref cx.Insn;
        var counter = CountsInEcx(i.Code) ? cx.ReadGpr(Register.ECX) : cx.ReadGpr(Register.RCX);
        BranchIf(cx, cx.B.Compare(IrOpcode.CmpEq, counter, cx.Const(counter.Type, 0)), i.NearBranchTarget);
        cx.B.Exit(cx.NextRip);
    }

    /// <summary>LOOPcc: decrement the counter (ECX under 67h, which zero-extends into RCX), no flags change; branch while it is non-zero (and ZF agrees).</summary>
    private static void LowerLoop(LoweringContext cx)
    {
        ref readonly var i = ref cx.Insn;
        var b = cx.B;
        var reg = CountsInEcx(i.Code) ? Register.ECX : Register.RCX;
        var counter = b.Sub(cx.ReadGpr(reg), cx.Const(reg == Register.ECX ? IrType.I32 : IrType.I64, 1));
        var taken = b.Compare(IrOpcode.CmpNe, counter, cx.Const(counter.Type, 0));
        if (i.Mnemonic != Mnemonic.Loop)
            taken = b.Select(taken, cx.Condition(i.Mnemonic == Mnemonic.Loope ? Condition.E : Condition.NE), taken);
        if (!IsCanonical(i.NearBranchTarget))
            b.RaiseIf(taken, ExceptionVector.GeneralProtection, 0);
        cx.WriteGpr(reg, counter);
        b.ExitIf(taken, i.NearBranchTarget);
        b.Exit(cx.NextRip);
    }

    private static bool LowerCall(LoweringContext cx)
    {
        ref readonly var i = ref cx.Insn;
        var b = cx.B;
        switch (i.Code)
        {
            case Code.Call_rel32_64 or Code.Call_rel16:
                if (!IsCanonical(i.NearBranchTarget))
                {
                    b.Raise(ExceptionVector.GeneralProtection, 0);
                    return true;
                }
                cx.Push(cx.Const(i.Code == Code.Call_rel16 ? IrType.I16 : IrType.I64, cx.NextRip));
                b.Exit(i.NearBranchTarget);
                return true;
            case Code.Call_rm64 or Code.Call_rm16:
            {
                // The target is read (and may fault) and checked before the push; [rsp+x] sees the old RSP.
                var target = cx.ReadOperand(0);
                var wide = b.ZExt(IrType.I64, target);
                cx.RaiseIfNonCanonical(wide);
                cx.Push(cx.Const(target.Type, cx.NextRip));
                b.ExitIndirect(wide, IndirectKind.Call);
                return true;
            }
            default:
                return false; // far calls
        }
    }

    private static void LowerRet(LoweringContext cx)
    {
        ref readonly var i = ref cx.Insn;
        var type = i.Code is Code.Retnw or Code.Retnw_imm16 ? IrType.I16 : IrType.I64;
        var (target, newRsp) = cx.PeekPop(type);
        var wide = cx.B.ZExt(IrType.I64, target);
        if (type == IrType.I64) cx.RaiseIfNonCanonical(wide);
        if (i.Code is Code.Retnq_imm16 or Code.Retnw_imm16 && i.Immediate16 != 0)
            newRsp = cx.B.Add(newRsp, cx.Const64(i.Immediate16));
        cx.Put(GuestReg.Rsp, newRsp);
        cx.B.ExitIndirect(wide, IndirectKind.Return);
    }

    /// <summary>True when <paramref name="address"/> is canonical (bits 63..47 all equal).</summary>
    private static bool IsCanonical(ulong address) => (ulong)((long)(address << 16) >> 16) == address;

    /// <summary>JMP rel: exit to the target, or #GP(0) when it is not canonical.</summary>
    private static void Branch(LoweringContext cx, ulong target)
    {
        if (IsCanonical(target))
            cx.B.Exit(target);
        else
            cx.B.Raise(ExceptionVector.GeneralProtection, 0);
    }

    /// <summary>A conditional direct branch: a side exit, preceded by a #GP(0) check in the rare case of a non-canonical target.</summary>
    private static void BranchIf(LoweringContext cx, IrValue taken, ulong target)
    {
        if (!IsCanonical(target))
            cx.B.RaiseIf(taken, ExceptionVector.GeneralProtection, 0);
        cx.B.ExitIf(taken, target);
    }
}
