using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>
/// What every instruction's lowering needs: the IR builder, the instruction being lowered, and
/// x86 operand plumbing (sub-registers, effective addresses, immediates, the flag thunk, the stack).
/// </summary>
/// <remarks>
/// Contract for the lowering of one guest instruction (<see cref="Lowerer"/> relies on it for
/// precise exceptions): every op that may fault (Load, Store, DivU/DivS/RemU/RemS, System) is
/// emitted before the first op that changes guest state (PutReg, Store of a later access,
/// System), except where the architecture itself leaves partial state (REP iterations). Then a
/// fault leaves the guest state exactly as it was before the instruction.
/// </remarks>
public sealed class LoweringContext
{
    public LoweringContext(IrBuilder builder) => B = builder;

    /// <summary>The IR builder, positioned at the end of the block.</summary>
    public IrBuilder B { get; }

    /// <summary>The instruction being lowered.</summary>
    public Instruction Insn;

    /// <summary>
    /// The privilege level the block is lowered for (part of the fragment key). Only POPF's
    /// treatment of IF and IOPL depends on it; 0 unless the caller says otherwise.
    /// </summary>
    public int Cpl { get; set; }

    /// <summary>RIP of the next instruction (the return address, the fall-through target).</summary>
    public ulong NextRip => Insn.NextIP;

    // ---- constants ----------------------------------------------------------------------------

    public IrValue Const(IrType type, ulong value) => B.Const(type, value);
    public IrValue Const64(ulong value) => B.Const(IrType.I64, value);
    public IrValue Const8(byte value) => B.Const(IrType.I8, value);

    // ---- registers --------------------------------------------------------------------------------

    /// <summary>The IR type of a value of <paramref name="bytes"/> bytes.</summary>
    public static IrType TypeOfSize(int bytes) => IrTypes.FromBytes(bytes);

    /// <summary>The guest slot of a general-purpose register of any size (AL, AH, AX, EAX, RAX all map to RAX's slot).</summary>
    public static int Slot(Register reg)
    {
        var full = reg.GetFullRegister();
        if (full < Register.RAX || full > Register.R15)
            throw new ArgumentException($"{reg} is not a general-purpose register");
        return full - Register.RAX;
    }

    private static bool IsHighByte(Register reg) => reg is Register.AH or Register.CH or Register.DH or Register.BH;

    /// <summary>Reads a general-purpose register at its own size (AH gives bits 8..15 of RAX as I8).</summary>
    public IrValue ReadGpr(Register reg)
    {
        var full = B.GetReg(Slot(reg));
        int size = reg.GetSize();
        if (size == 8) return full;
        if (IsHighByte(reg))
            return B.Trunc(IrType.I8, B.Shift(IrOpcode.Shr, full, Const8(8)));
        return B.Trunc(TypeOfSize(size), full);
    }

    /// <summary>
    /// Writes a general-purpose register with x86-64 merge rules: 64-bit writes replace, 32-bit
    /// writes zero-extend into the full register, 16- and 8-bit writes (including AH..BH) merge.
    /// </summary>
    public void WriteGpr(Register reg, IrValue value)
    {
        int slot = Slot(reg);
        int size = reg.GetSize();
        if (value.Type != TypeOfSize(size))
            throw new ArgumentException($"WriteGpr {reg}: value is {IrTypes.Name(value.Type)}");
        switch (size)
        {
            case 8:
                B.PutReg(slot, value);
                return;
            case 4:
                B.PutReg(slot, B.ZExt(IrType.I64, value));
                return;
        }
        var old = B.GetReg(slot);
        var wide = B.ZExt(IrType.I64, value);
        if (IsHighByte(reg))
        {
            var kept = B.And(old, Const64(~0xff00UL));
            B.PutReg(slot, B.Or(kept, B.Shift(IrOpcode.Shl, wide, Const8(8))));
        }
        else
        {
            ulong mask = size == 2 ? 0xffffUL : 0xffUL;
            var kept = B.And(old, Const64(~mask));
            B.PutReg(slot, B.Or(kept, wide));
        }
    }

    /// <summary>Reads a full 64-bit register slot.</summary>
    public IrValue Get(int slot) => B.GetReg(slot);

    /// <summary>Writes a full 64-bit register slot.</summary>
    public void Put(int slot, IrValue value) => B.PutReg(slot, value);

    // ---- memory operands ---------------------------------------------------------------------------

    /// <summary>
    /// The linear address of the instruction's memory operand: segment base (FS/GS only in
    /// 64-bit mode) + base + index * scale + displacement, RIP-relative resolved, truncated to 32
    /// bits under a 32-bit address-size prefix.
    /// </summary>
    public IrValue EffectiveAddress() => AddSegmentBase(Offset(null), Insn.MemorySegment);

    /// <summary>
    /// The effective address of the memory operand without any segment base (what LEA computes):
    /// base + index * scale + displacement, RIP-relative resolved, truncated under addr32.
    /// </summary>
    public IrValue EffectiveOffset() => Offset(null);

    /// <summary>
    /// As <see cref="EffectiveAddress"/>, but with <paramref name="rsp"/> standing in for RSP/ESP
    /// as a base register: POP m computes its address with the already incremented RSP.
    /// </summary>
    public IrValue EffectiveAddressWithRsp(IrValue rsp) => AddSegmentBase(Offset(rsp), Insn.MemorySegment);

    private IrValue Offset(IrValue? rsp)
    {
        ref readonly var i = ref Insn;
        if (i.IsIPRelativeMemoryOperand)
            return Const64(i.IPRelativeMemoryAddress);
        var ea = Const64(i.MemoryDisplacement64);
        if (i.MemoryBase != Register.None)
        {
            var baseValue = rsp is { } r && i.MemoryBase.GetFullRegister() == Register.RSP
                ? (i.MemoryBase.GetSize() == 4 ? B.ZExt(IrType.I64, B.Trunc(IrType.I32, r)) : r)
                : BaseOrIndex(i.MemoryBase);
            ea = B.Add(ea, baseValue);
        }
        if (i.MemoryIndex != Register.None)
        {
            var index = BaseOrIndex(i.MemoryIndex);
            if (i.MemoryIndexScale > 1)
                index = B.Shift(IrOpcode.Shl, index, Const8((byte)System.Numerics.BitOperations.Log2((uint)i.MemoryIndexScale)));
            ea = B.Add(ea, index);
        }
        if (i.MemoryBase.GetSize() == 4 || i.MemoryIndex.GetSize() == 4)
            ea = B.ZExt(IrType.I64, B.Trunc(IrType.I32, ea));
        return ea;
    }

    /// <summary>Adds the FS or GS base for an override; other segments have base 0 in 64-bit mode.</summary>
    public IrValue AddSegmentBase(IrValue address, Register segment) => segment switch
    {
        Register.FS => B.Add(address, B.GetReg(GuestReg.FsBase)),
        Register.GS => B.Add(address, B.GetReg(GuestReg.GsBase)),
        _ => address,
    };

    private IrValue BaseOrIndex(Register reg) => B.ZExt(IrType.I64, ReadGpr(reg));

    /// <summary>The IR type of operand <paramref name="n"/> (register, memory or immediate).</summary>
    public IrType OperandType(int n)
    {
        ref readonly var i = ref Insn;
        return i.GetOpKind(n) switch
        {
            OpKind.Register => TypeOfSize(i.GetOpRegister(n).GetSize()),
            OpKind.Memory => TypeOfSize(i.MemorySize.GetSize()),
            OpKind.Immediate8 => IrType.I8,
            OpKind.Immediate16 => IrType.I16,
            OpKind.Immediate32 => IrType.I32,
            OpKind.Immediate64 => IrType.I64,
            // sign-extended immediates take the size of the destination operand
            OpKind.Immediate8to16 => IrType.I16,
            OpKind.Immediate8to32 => IrType.I32,
            OpKind.Immediate8to64 or OpKind.Immediate32to64 => IrType.I64,
            var k => throw new NotSupportedException($"operand kind {k} of {i}"),
        };
    }

    /// <summary>
    /// Reads operand <paramref name="n"/>: a register, a load from the memory operand (computing
    /// its address, or using <paramref name="address"/> when given), or an immediate at its
    /// encoded (sign-extended) size.
    /// </summary>
    public IrValue ReadOperand(int n, IrValue? address = null)
    {
        ref readonly var i = ref Insn;
        var kind = i.GetOpKind(n);
        switch (kind)
        {
            case OpKind.Register:
                return ReadGpr(i.GetOpRegister(n));
            case OpKind.Memory:
                return B.Load(OperandType(n), address ?? EffectiveAddress());
            default:
                return Const(OperandType(n), i.GetImmediate(n));
        }
    }

    /// <summary>
    /// Writes operand <paramref name="n"/> (a register or the memory operand). Pass the address
    /// already computed for a read-modify-write so it is computed once.
    /// </summary>
    public void WriteOperand(int n, IrValue value, IrValue? address = null)
    {
        ref readonly var i = ref Insn;
        switch (i.GetOpKind(n))
        {
            case OpKind.Register:
                WriteGpr(i.GetOpRegister(n), value);
                return;
            case OpKind.Memory:
                B.Store(address ?? EffectiveAddress(), value);
                return;
            default:
                throw new NotSupportedException($"cannot write operand {n} ({i.GetOpKind(n)}) of {i}");
        }
    }

    /// <summary>True when operand <paramref name="n"/> is the memory operand.</summary>
    public bool IsMemory(int n) => Insn.GetOpKind(n) == OpKind.Memory;

    /// <summary>
    /// Raises #GP(0) at this instruction when <paramref name="address"/> (I64) is not canonical
    /// (bits 63..47 not all equal), e.g. a branch target: emit it before the instruction's state
    /// changes, as for any op that may fault.
    /// </summary>
    public void RaiseIfNonCanonical(IrValue address)
    {
        var sixteen = Const8(16);
        var canonical = B.Shift(IrOpcode.Sar, B.Shift(IrOpcode.Shl, address, sixteen), sixteen);
        B.RaiseIf(B.Compare(IrOpcode.CmpNe, canonical, address), ExceptionVector.GeneralProtection, 0);
    }

    // ---- flags -------------------------------------------------------------------------------------

    /// <summary>
    /// Records the flag thunk of an operation (lazy flags: nothing is computed here). A slot the
    /// kind never reads (<see cref="FlagsOps.ReadsDep2"/>, <see cref="FlagsOps.ReadsNdep"/>) is
    /// left as it was: a store fewer per flag-setting instruction, and flags come out the same.
    /// </summary>
    public void SetFlags(FlagsKind kind, IrType size, IrValue dep1, IrValue dep2, IrValue ndep)
    {
        B.PutReg(GuestReg.CcOp, Const64(FlagsOps.Make(kind, IrTypes.Bytes(size))));
        B.PutReg(GuestReg.CcDep1, B.ZExt(IrType.I64, dep1));
        if (FlagsOps.ReadsDep2(kind)) B.PutReg(GuestReg.CcDep2, B.ZExt(IrType.I64, dep2));
        if (FlagsOps.ReadsNdep(kind)) B.PutReg(GuestReg.CcNdep, B.ZExt(IrType.I64, ndep));
    }

    /// <summary>Sets the arithmetic flags to explicit RFLAGS bits (cc_op = Copy).</summary>
    public void SetFlagsCopy(IrValue rflagsBits)
    {
        // Copy reads dep1 alone; dep2 and ndep are left as they were (see SetFlags).
        B.PutReg(GuestReg.CcOp, Const64(FlagsOps.Copy));
        B.PutReg(GuestReg.CcDep1, B.And(rflagsBits, Const64(Drk.Hv.Cpu.Rflags.Arithmetic)));
    }

    /// <summary>Evaluates an x86 condition on the current flags (I1).</summary>
    public IrValue Condition(Condition cond) =>
        B.CondFromFlags(cond, B.GetReg(GuestReg.CcOp), B.GetReg(GuestReg.CcDep1), B.GetReg(GuestReg.CcDep2), B.GetReg(GuestReg.CcNdep));

    /// <summary>The six arithmetic flags as RFLAGS bits (I64).</summary>
    public IrValue ArithmeticFlags() =>
        B.FlagsFromThunk(B.GetReg(GuestReg.CcOp), B.GetReg(GuestReg.CcDep1), B.GetReg(GuestReg.CcDep2), B.GetReg(GuestReg.CcNdep));

    /// <summary>The full RFLAGS value: arithmetic flags from the thunk, the rest from flags_other.</summary>
    public IrValue Rflags() => B.Or(ArithmeticFlags(), B.GetReg(GuestReg.FlagsOther));

    /// <summary>CF as I1.</summary>
    public IrValue Carry() => Condition(Flags.Condition.B);

    // ---- stack ---------------------------------------------------------------------------------

    /// <summary>
    /// Pushes <paramref name="value"/> (I16 or I64): stores below RSP, then updates RSP, so a
    /// faulting push leaves RSP unchanged.
    /// </summary>
    public void Push(IrValue value)
    {
        var rsp = B.GetReg(GuestReg.Rsp);
        var newRsp = B.Sub(rsp, Const64((ulong)IrTypes.Bytes(value.Type)));
        B.Store(newRsp, value);
        B.PutReg(GuestReg.Rsp, newRsp);
    }

    /// <summary>
    /// Loads the value at the top of the stack without changing RSP; returns it and the RSP to
    /// commit with <see cref="Put"/>(Rsp, ...) once every faulting op of the instruction is emitted.
    /// </summary>
    public (IrValue Value, IrValue NewRsp) PeekPop(IrType type)
    {
        var rsp = B.GetReg(GuestReg.Rsp);
        var value = B.Load(type, rsp);
        var newRsp = B.Add(rsp, Const64((ulong)IrTypes.Bytes(type)));
        return (value, newRsp);
    }
}
