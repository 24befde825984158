using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers MOVS/STOS/LODS/CMPS/SCAS in all sizes, with and without REP/REPE/REPNE.</summary>
/// <remarks>
/// <para>
/// Without a prefix a string instruction moves one element and advances RSI/RDI by the element
/// size, backwards when DF (bit 10 of flags_other) is set. The source is seg:RSI (DS, or an FS/GS
/// override), the destination ES:RDI (never overridden; base 0 in 64-bit mode). Under a 67h
/// prefix the pointers and the counter are ESI, EDI and ECX, and their updates zero-extend.
/// </para>
/// <para>
/// A REP-prefixed instruction is lowered as one iteration per block execution (as QEMU does):
/// exit to the next instruction if RCX is 0; otherwise move one element, decrement RCX, and exit
/// to the next instruction if RCX became 0 (or, for REPE/REPNE, if ZF says stop), else exit back
/// to the instruction's own RIP. Each iteration is therefore a complete, restartable step: a fault
/// in iteration k leaves the registers as iterations 1..k-1 left them, which is exactly the
/// architected partial state, and interrupts are taken between iterations at the block boundary.
/// The lowering is correct wherever the instruction sits in a block, since it always ends the
/// block; the BlockDecoder puts it in a block of its own so that re-entry runs only it.
/// </para>
/// <para>
/// Retired-instruction counting: every execution of such a block retires one instruction, so a
/// REP instruction with count n retires n instructions (1 when n = 0), deterministically and
/// identically in every tier. This is Drk's definition; hardware counters count it once.
/// </para>
/// <para>
/// Traces, and on the JIT tiers the dispatch loop, do many iterations of a REP STOS or REP MOVS
/// block at once (<c>Jit.BulkString</c>; not when a tool calls back from the block) with exactly
/// the registers, memory, count, tool counters and interrupt points of this lowering run one
/// iteration at a time.
/// </para>
/// <para>
/// Per the manuals, F2 (REPNE) on MOVS/STOS/LODS acts as REP. INS/OUTS are not lowered (#UD):
/// OUTS would need a port-write system op taking its value as an operand.
/// </para>
/// </remarks>
public sealed class StringLowering : IInstructionLowering
{
    private enum StringKind : byte { Movs, Stos, Lods, Cmps, Scas }

    /// <inheritdoc />
    public bool TryLower(LoweringContext cx)
    {
        StringKind kind;
        switch (cx.Insn.Code)
        {
            case Code.Movsb_m8_m8 or Code.Movsw_m16_m16 or Code.Movsd_m32_m32 or Code.Movsq_m64_m64:
                kind = StringKind.Movs;
                break;
            case Code.Stosb_m8_AL or Code.Stosw_m16_AX or Code.Stosd_m32_EAX or Code.Stosq_m64_RAX:
                kind = StringKind.Stos;
                break;
            case Code.Lodsb_AL_m8 or Code.Lodsw_AX_m16 or Code.Lodsd_EAX_m32 or Code.Lodsq_RAX_m64:
                kind = StringKind.Lods;
                break;
            case Code.Cmpsb_m8_m8 or Code.Cmpsw_m16_m16 or Code.Cmpsd_m32_m32 or Code.Cmpsq_m64_m64:
                kind = StringKind.Cmps;
                break;
            case Code.Scasb_AL_m8 or Code.Scasw_AX_m16 or Code.Scasd_EAX_m32 or Code.Scasq_RAX_m64:
                kind = StringKind.Scas;
                break;
            default:
                return false;
        }
        Lower(cx, kind);
        return true;
    }

    private static void Lower(LoweringContext cx, StringKind kind)
    {
        ref readonly var i = ref cx.Insn;
        var b = cx.B;
        var type = LoweringContext.TypeOfSize(i.MemorySize.GetSize());
        bool address32 = UsesAddress32(in i);
        var counterReg = address32 ? Register.ECX : Register.RCX;
        bool repeated = i.HasRepPrefix || i.HasRepnePrefix;
        ulong rip = i.IP;

        IrValue counter = default;
        if (repeated)
        {
            counter = cx.ReadGpr(counterReg);
            b.ExitIf(b.Compare(IrOpcode.CmpEq, counter, cx.Const(counter.Type, 0)), cx.NextRip);
        }

        // Element step: +size, or -size when DF is set.
        var df = b.Compare(IrOpcode.CmpNe, b.And(cx.Get(GuestReg.FlagsOther), cx.Const64(Rflags.DF)), cx.Const64(0));
        ulong size = (ulong)IrTypes.Bytes(type);
        var step = b.Select(df, cx.Const64(0UL - size), cx.Const64(size));

        bool readsSource = kind is StringKind.Movs or StringKind.Lods or StringKind.Cmps;
        bool usesDestination = kind is StringKind.Movs or StringKind.Stos or StringKind.Cmps or StringKind.Scas;
        var sourceReg = address32 ? Register.ESI : Register.RSI;
        var destinationReg = address32 ? Register.EDI : Register.RDI;
        IrValue source = default, destination = default;
        if (readsSource) source = b.ZExt(IrType.I64, cx.ReadGpr(sourceReg));
        if (usesDestination) destination = b.ZExt(IrType.I64, cx.ReadGpr(destinationReg));

        // Loads and the store first (they may fault), then the register updates.
        IrValue? compareLeft = null, compareRight = null;
        switch (kind)
        {
            case StringKind.Movs:
                b.Store(destination, b.Load(type, cx.AddSegmentBase(source, i.MemorySegment)));
                break;
            case StringKind.Stos:
                b.Store(destination, cx.ReadGpr(Accumulator(type)));
                break;
            case StringKind.Lods:
                var loaded = b.Load(type, cx.AddSegmentBase(source, i.MemorySegment));
                cx.WriteGpr(Accumulator(type), loaded);
                break;
            case StringKind.Cmps:
                // CMPS compares [RSI] with [RDI]: flags of [RSI] - [RDI].
                compareLeft = b.Load(type, cx.AddSegmentBase(source, i.MemorySegment));
                compareRight = b.Load(type, destination);
                break;
            case StringKind.Scas:
                compareLeft = cx.ReadGpr(Accumulator(type));
                compareRight = b.Load(type, destination);
                break;
        }

        if (readsSource) WritePointer(cx, sourceReg, b.Add(source, step));
        if (usesDestination) WritePointer(cx, destinationReg, b.Add(destination, step));
        if (compareLeft is { } left && compareRight is { } right)
            cx.SetFlags(FlagsKind.Sub, type, left, right, cx.Const(type, 0));

        if (!repeated) return;

        var remaining = b.Sub(counter, cx.Const(counter.Type, 1));
        cx.WriteGpr(counterReg, remaining);
        b.ExitIf(b.Compare(IrOpcode.CmpEq, remaining, cx.Const(counter.Type, 0)), cx.NextRip);
        if (compareLeft is { } l && compareRight is { } r)
        {
            // REPE (F3) stops on a difference (ZF = 0), REPNE (F2) on equality (ZF = 1).
            var stop = i.HasRepnePrefix ? IrOpcode.CmpEq : IrOpcode.CmpNe;
            b.ExitIf(b.Compare(stop, l, r), cx.NextRip);
        }
        b.Exit(rip);
    }

    /// <summary>Writes RSI/RDI (64-bit) or ESI/EDI (zero-extending) from a 64-bit sum.</summary>
    private static void WritePointer(LoweringContext cx, Register reg, IrValue value) =>
        cx.WriteGpr(reg, cx.B.Trunc(LoweringContext.TypeOfSize(reg.GetSize()), value));

    private static Register Accumulator(IrType type) => type switch
    {
        IrType.I8 => Register.AL,
        IrType.I16 => Register.AX,
        IrType.I32 => Register.EAX,
        _ => Register.RAX,
    };

    /// <summary>True when a 67h prefix makes the string operands ESI/EDI and the counter ECX.</summary>
    private static bool UsesAddress32(in Instruction i)
    {
        for (int n = 0; n < i.OpCount; n++)
            if (i.GetOpKind(n) is OpKind.MemorySegESI or OpKind.MemoryESEDI)
                return true;
        return false;
    }
}
