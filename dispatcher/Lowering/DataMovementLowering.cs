using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers MOV, MOVZX/MOVSX/MOVSXD, LEA, XCHG, CMPXCHG(8B/16B), XADD, BSWAP, CBW.., CWD.., CMOVcc, SETcc, NOPs, hints and fences.</summary>
/// <remarks>
/// LOCK forms are lowered like the plain ones: a block executes on one vCPU without
/// interleaving, so every read-modify-write here is already atomic with respect to the guest.
/// MOV to or from segment, control and debug registers is left to <see cref="SystemLowering"/>.
/// </remarks>
public sealed class DataMovementLowering : IInstructionLowering
{
    /// <inheritdoc />
    public bool TryLower(LoweringContext cx)
    {
        switch (cx.Insn.Mnemonic)
        {
            case Mnemonic.Mov:
                if (!HasOnlyGeneralOperands(cx)) return false;
                cx.WriteOperand(0, cx.ReadOperand(1));
                return true;
            case Mnemonic.Movzx:
                WriteExtended(cx, signed: false);
                return true;
            case Mnemonic.Movsx:
            case Mnemonic.Movsxd:
                WriteExtended(cx, signed: true);
                return true;
            case Mnemonic.Lea:
                LowerLea(cx);
                return true;
            case Mnemonic.Xchg:
                LowerXchg(cx);
                return true;
            case Mnemonic.Cmpxchg:
                LowerCmpxchg(cx);
                return true;
            case Mnemonic.Cmpxchg8b:
                LowerCmpxchg8b(cx);
                return true;
            case Mnemonic.Cmpxchg16b:
                LowerCmpxchg16b(cx);
                return true;
            case Mnemonic.Xadd:
                LowerXadd(cx);
                return true;
            case Mnemonic.Bswap:
                LowerBswap(cx);
                return true;
            case Mnemonic.Cbw:
                cx.WriteGpr(Register.AX, cx.B.SExt(IrType.I16, cx.ReadGpr(Register.AL)));
                return true;
            case Mnemonic.Cwde:
                cx.WriteGpr(Register.EAX, cx.B.SExt(IrType.I32, cx.ReadGpr(Register.AX)));
                return true;
            case Mnemonic.Cdqe:
                cx.WriteGpr(Register.RAX, cx.B.SExt(IrType.I64, cx.ReadGpr(Register.EAX)));
                return true;
            case Mnemonic.Cwd:
                SignIntoDx(cx, Register.AX, Register.DX);
                return true;
            case Mnemonic.Cdq:
                SignIntoDx(cx, Register.EAX, Register.EDX);
                return true;
            case Mnemonic.Cqo:
                SignIntoDx(cx, Register.RAX, Register.RDX);
                return true;
            case Mnemonic.Cmova or Mnemonic.Cmovae or Mnemonic.Cmovb or Mnemonic.Cmovbe or Mnemonic.Cmove
                or Mnemonic.Cmovg or Mnemonic.Cmovge or Mnemonic.Cmovl or Mnemonic.Cmovle or Mnemonic.Cmovne
                or Mnemonic.Cmovno or Mnemonic.Cmovnp or Mnemonic.Cmovns or Mnemonic.Cmovo or Mnemonic.Cmovp
                or Mnemonic.Cmovs:
                LowerCmov(cx);
                return true;
            case Mnemonic.Seta or Mnemonic.Setae or Mnemonic.Setb or Mnemonic.Setbe or Mnemonic.Sete
                or Mnemonic.Setg or Mnemonic.Setge or Mnemonic.Setl or Mnemonic.Setle or Mnemonic.Setne
                or Mnemonic.Setno or Mnemonic.Setnp or Mnemonic.Setns or Mnemonic.Seto or Mnemonic.Setp
                or Mnemonic.Sets:
                var cond = cx.Condition(ConditionCodes.From(cx.Insn.ConditionCode));
                cx.WriteOperand(0, cx.B.ZExt(IrType.I8, cond));
                return true;
            // No architectural effect here: NOPs (incl. 0F 1F and the reserved-NOP space), PAUSE,
            // CET markers, fences and cache hints. Their memory operands are never accessed.
            case Mnemonic.Nop or Mnemonic.Reservednop or Mnemonic.Pause or Mnemonic.Endbr64 or Mnemonic.Endbr32
                or Mnemonic.Lfence or Mnemonic.Mfence or Mnemonic.Sfence
                or Mnemonic.Prefetch or Mnemonic.Prefetchw or Mnemonic.Prefetchwt1 or Mnemonic.Prefetchnta
                or Mnemonic.Prefetcht0 or Mnemonic.Prefetcht1 or Mnemonic.Prefetcht2 or Mnemonic.Cldemote:
                return true;
            default:
                return false;
        }
    }

    /// <summary>True when every operand is a general-purpose register, the memory operand or an immediate.</summary>
    private static bool HasOnlyGeneralOperands(LoweringContext cx)
    {
        ref readonly var i = ref cx.Insn;
        for (int n = 0; n < i.OpCount; n++)
            if (i.GetOpKind(n) == OpKind.Register && !i.GetOpRegister(n).IsGPR())
                return false;
        return true;
    }

    private static void WriteExtended(LoweringContext cx, bool signed)
    {
        var dst = cx.Insn.Op0Register;
        var type = LoweringContext.TypeOfSize(dst.GetSize());
        var src = cx.ReadOperand(1);
        cx.WriteGpr(dst, signed ? cx.B.SExt(type, src) : cx.B.ZExt(type, src));
    }

    private static void LowerLea(LoweringContext cx)
    {
        var dst = cx.Insn.Op0Register;
        // LEA ignores segment overrides: it yields the offset, never the linear address.
        var offset = cx.EffectiveOffset();
        cx.WriteGpr(dst, cx.B.Trunc(LoweringContext.TypeOfSize(dst.GetSize()), offset));
    }

    private static void LowerXchg(LoweringContext cx)
    {
        // Iced puts the memory operand (if any) first.
        IrValue? address = cx.IsMemory(0) ? cx.EffectiveAddress() : null;
        var first = cx.ReadOperand(0, address);
        var second = cx.ReadOperand(1);
        cx.WriteOperand(0, second, address);
        cx.WriteOperand(1, first);
    }

    /// <remarks>
    /// A memory destination is written in both cases (a failing CMPXCHG writes the old value
    /// back). Registers are written only where the comparison says so: the accumulator on
    /// failure, a register destination on success; with a 32-bit operand the register not
    /// written keeps its upper half (measured on hardware; QEMU had this wrong once).
    /// </remarks>
    private static void LowerCmpxchg(LoweringContext cx)
    {
        var b = cx.B;
        IrValue? address = cx.IsMemory(0) ? cx.EffectiveAddress() : null;
        var old = cx.ReadOperand(0, address);
        var source = cx.ReadOperand(1);
        var type = old.Type;
        var accumulator = Accumulator(IrTypes.Bytes(type));
        var expected = cx.ReadGpr(accumulator);
        var equal = b.Compare(IrOpcode.CmpEq, expected, old);
        if (address is { } a) b.Store(a, b.Select(equal, source, old));
        cx.SetFlags(FlagsKind.Sub, type, expected, old, cx.Const(type, 0));
        var raxBefore = cx.Get(GuestReg.Rax);
        cx.Put(GuestReg.Rax, b.Select(equal, raxBefore, Merged(cx, accumulator, old, raxBefore)));
        if (address is null)
        {
            var destination = cx.Insn.Op0Register;
            int slot = LoweringContext.Slot(destination);
            var before = cx.Get(slot);
            cx.Put(slot, b.Select(equal, Merged(cx, destination, source, before), before));
        }
    }

    /// <summary>The full 64-bit register after writing <paramref name="value"/> to <paramref name="reg"/> (whose full value is <paramref name="full"/>) with x86 merge rules.</summary>
    private static IrValue Merged(LoweringContext cx, Register reg, IrValue value, IrValue full)
    {
        var b = cx.B;
        var wide = b.ZExt(IrType.I64, value);
        int size = reg.GetSize();
        if (size >= 4) return wide;
        if (reg is Register.AH or Register.CH or Register.DH or Register.BH)
            return b.Or(b.And(full, cx.Const64(~0xff00UL)), b.Shift(IrOpcode.Shl, wide, cx.Const8(8)));
        ulong mask = size == 2 ? 0xffffUL : 0xffUL;
        return b.Or(b.And(full, cx.Const64(~mask)), wide);
    }

    private static Register Accumulator(int bytes) => bytes switch
    {
        1 => Register.AL,
        2 => Register.AX,
        4 => Register.EAX,
        _ => Register.RAX,
    };

    /// <summary>CMPXCHG8B m64: compares EDX:EAX with m64; on success stores ECX:EBX, else loads EDX:EAX. Only ZF changes.</summary>
    private static void LowerCmpxchg8b(LoweringContext cx)
    {
        var b = cx.B;
        var address = cx.EffectiveAddress();
        var old = b.Load(IrType.I64, address);
        var expected = Pair(cx, GuestReg.Rdx, GuestReg.Rax);
        var equal = b.Compare(IrOpcode.CmpEq, old, expected);
        b.Store(address, b.Select(equal, Pair(cx, GuestReg.Rcx, GuestReg.Rbx), old));
        SetZeroFlag(cx, equal);
        var lowOnFailure = b.ZExt(IrType.I64, b.Trunc(IrType.I32, old));
        var highOnFailure = b.Shift(IrOpcode.Shr, old, cx.Const8(32));
        cx.Put(GuestReg.Rax, b.Select(equal, cx.Get(GuestReg.Rax), lowOnFailure));
        cx.Put(GuestReg.Rdx, b.Select(equal, cx.Get(GuestReg.Rdx), highOnFailure));
    }

    /// <summary>(high32 &lt;&lt; 32) | low32 of two registers.</summary>
    private static IrValue Pair(LoweringContext cx, int highSlot, int lowSlot)
    {
        var b = cx.B;
        var low = b.ZExt(IrType.I64, b.Trunc(IrType.I32, cx.Get(lowSlot)));
        return b.Or(b.Shift(IrOpcode.Shl, cx.Get(highSlot), cx.Const8(32)), low);
    }

    /// <summary>
    /// CMPXCHG16B m128: #GP(0) unless 16-byte aligned; compares RDX:RAX with m128; on success
    /// stores RCX:RBX, else loads RDX:RAX (the memory is written back either way). Only ZF changes.
    /// </summary>
    /// <remarks>Being aligned, both halves lie in one page: the second store cannot fault after the first.</remarks>
    private static void LowerCmpxchg16b(LoweringContext cx)
    {
        var b = cx.B;
        var low = cx.EffectiveAddress();
        var misaligned = b.Compare(IrOpcode.CmpNe, b.And(low, cx.Const64(15)), cx.Const64(0));
        b.RaiseIf(misaligned, ExceptionVector.GeneralProtection, 0);
        var high = b.Add(low, cx.Const64(8));
        var oldLow = b.Load(IrType.I64, low);
        var oldHigh = b.Load(IrType.I64, high);
        var rax = cx.Get(GuestReg.Rax);
        var rdx = cx.Get(GuestReg.Rdx);
        var difference = b.Or(b.Xor(oldLow, rax), b.Xor(oldHigh, rdx));
        var equal = b.Compare(IrOpcode.CmpEq, difference, cx.Const64(0));
        b.Store(low, b.Select(equal, cx.Get(GuestReg.Rbx), oldLow));
        b.Store(high, b.Select(equal, cx.Get(GuestReg.Rcx), oldHigh));
        SetZeroFlag(cx, equal);
        cx.Put(GuestReg.Rax, b.Select(equal, rax, oldLow));
        cx.Put(GuestReg.Rdx, b.Select(equal, rdx, oldHigh));
    }

    /// <summary>Sets ZF to <paramref name="zero"/> and keeps the other arithmetic flags.</summary>
    private static void SetZeroFlag(LoweringContext cx, IrValue zero)
    {
        var b = cx.B;
        var others = b.And(cx.ArithmeticFlags(), cx.Const64(~Rflags.ZF));
        var zf = b.Select(zero, cx.Const64(Rflags.ZF), cx.Const64(0));
        cx.SetFlagsCopy(b.Or(others, zf));
    }

    private static void LowerXadd(LoweringContext cx)
    {
        var b = cx.B;
        IrValue? address = cx.IsMemory(0) ? cx.EffectiveAddress() : null;
        var destination = cx.ReadOperand(0, address);
        var source = cx.ReadOperand(1);
        var sum = b.Add(destination, source);
        if (address is { } a) b.Store(a, sum);
        // SRC := DEST, then DEST := sum: with one register for both, the sum wins.
        cx.WriteGpr(cx.Insn.Op1Register, destination);
        if (address is null) cx.WriteGpr(cx.Insn.Op0Register, sum);
        cx.SetFlags(FlagsKind.Add, destination.Type, destination, source, cx.Const(destination.Type, 0));
    }

    private static void LowerBswap(LoweringContext cx)
    {
        var reg = cx.Insn.Op0Register;
        // BSWAP r16 is undefined by the manuals; CPUs swap the zero-extended 32-bit value, which
        // leaves zero in the low 16 bits. Drk does the same.
        if (reg.GetSize() == 2)
            cx.WriteGpr(reg, cx.Const(IrType.I16, 0));
        else
            cx.WriteGpr(reg, cx.B.Unary(IrOpcode.Bswap, cx.ReadGpr(reg)));
    }

    private static void SignIntoDx(LoweringContext cx, Register source, Register destination)
    {
        var value = cx.ReadGpr(source);
        byte top = (byte)(IrTypes.Bits(value.Type) - 1);
        cx.WriteGpr(destination, cx.B.Shift(IrOpcode.Sar, value, cx.Const8(top)));
    }

    private static void LowerCmov(LoweringContext cx)
    {
        var dst = cx.Insn.Op0Register;
        // The source is read (and may fault) whether or not the condition holds, and a 32-bit
        // CMOV clears the upper half of the destination either way.
        var source = cx.ReadOperand(1);
        var cond = cx.Condition(ConditionCodes.From(cx.Insn.ConditionCode));
        cx.WriteGpr(dst, cx.B.Select(cond, source, cx.ReadGpr(dst)));
    }
}
