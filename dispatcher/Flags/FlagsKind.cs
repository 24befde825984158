namespace Drk.Dispatcher.Flags;

/// <summary>
/// How the lazy flag thunk (cc_op, cc_dep1, cc_dep2, cc_ndep) is to be read: which operation
/// last set the arithmetic flags, and what the three inputs hold. A cc_op value is
/// <c>(kind &lt;&lt; 2) | size</c>, size being 0 = 8, 1 = 16, 2 = 32, 3 = 64 bits
/// (see <see cref="FlagsOps"/>). Operands are stored zero-extended from the operation's width.
/// </summary>
/// <remarks>
/// The flags CF, PF, AF, ZF, SF, OF are never stored eagerly; they are computed from the thunk
/// only where something reads them (Jcc, SETcc, CMOVcc, ADC/SBB, PUSHF, LAHF, an exception
/// frame). "old" below means the full arithmetic flags before the operation, in RFLAGS bit
/// positions. Where x86 leaves a flag undefined, the value computed here is what Drk defines.
/// </remarks>
public enum FlagsKind : byte
{
    /// <summary>dep1 = the arithmetic flags themselves, in RFLAGS bit positions (POPF, SAHF, BT, ...). Size ignored.</summary>
    Copy = 0,
    /// <summary>dep1 = a, dep2 = b of a + b.</summary>
    Add = 1,
    /// <summary>dep1 = a, dep2 = b, ndep = carry-in (0/1) of a + b + cin.</summary>
    Adc = 2,
    /// <summary>dep1 = a, dep2 = b of a - b (also CMP, NEG as 0 - b).</summary>
    Sub = 3,
    /// <summary>dep1 = a, dep2 = b, ndep = borrow-in (0/1) of a - b - bin.</summary>
    Sbb = 4,
    /// <summary>dep1 = result of AND/OR/XOR/TEST/ANDN: CF = OF = 0, AF = 0.</summary>
    Logic = 5,
    /// <summary>dep1 = result of INC; ndep = old flags (CF preserved).</summary>
    Inc = 6,
    /// <summary>dep1 = result of DEC; ndep = old flags (CF preserved).</summary>
    Dec = 7,
    /// <summary>dep1 = result of SHL by a masked count &gt; 0; dep2 = the value shifted by count - 1 (CF = its top bit). OF = top(result) ^ CF. AF = 0.</summary>
    Shl = 8,
    /// <summary>dep1 = result of SHR by a masked count &gt; 0; dep2 = the value shifted by count - 1 (CF = its bit 0). OF = top bit of dep2 (for count 1, the original operand's top bit). AF = 0.</summary>
    Shr = 9,
    /// <summary>As <see cref="Shr"/> but for SAR (dep2 shifted arithmetically): OF = 0.</summary>
    Sar = 10,
    /// <summary>dep1 = result of ROL by count &gt; 0; ndep = old flags. CF = bit 0 of result, OF = top ^ CF; others from old.</summary>
    Rol = 11,
    /// <summary>dep1 = result of ROR by count &gt; 0; ndep = old flags. CF = top bit, OF = top ^ next; others from old.</summary>
    Ror = 12,
    /// <summary>dep1 = low half, dep2 = high half of an unsigned MUL: CF = OF = (high != 0); SF/ZF/PF from low, AF = 0.</summary>
    UMul = 13,
    /// <summary>dep1 = low half, dep2 = high half of a signed IMUL: CF = OF = (high != sign extension of low); SF/ZF/PF from low, AF = 0.</summary>
    SMul = 14,
    /// <summary>dep1 = result, dep2 = source of BLSI: CF = (source != 0), ZF/SF from result, OF = 0.</summary>
    Blsi = 15,
    /// <summary>dep1 = result, dep2 = source of BLSMSK: CF = (source == 0), SF from result, ZF = 0, OF = 0.</summary>
    Blsmsk = 16,
    /// <summary>dep1 = result, dep2 = source of BLSR: CF = (source == 0), ZF/SF from result, OF = 0.</summary>
    Blsr = 17,
}
