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
/// positions. "ZF/SF/PF from r" means ZF = (r == 0), SF = top bit of r, PF = even parity of
/// r's low byte. Where x86 leaves a flag undefined, the value computed here is what Drk defines:
/// what the AMD Zen test hosts do when that is a constant (AF = 1 after shifts), otherwise
/// something simple. Instructions whose flags are all undefined and that Drk leaves unchanged
/// (DIV, IDIV) do not touch the thunk.
/// </remarks>
public enum FlagsKind : byte
{
    /// <summary>dep1 = the arithmetic flags themselves, in RFLAGS bit positions (POPF, SAHF, CLC/STC/CMC, BT*, RCL/RCR, POPCNT). Size ignored.</summary>
    Copy = 0,
    /// <summary>dep1 = a, dep2 = b of a + b. CF = carry out, OF = signed overflow, AF = carry out of bit 3, ZF/SF/PF from the sum.</summary>
    Add = 1,
    /// <summary>dep1 = a, dep2 = b, ndep = carry-in (0/1) of a + b + cin.</summary>
    Adc = 2,
    /// <summary>dep1 = a, dep2 = b of a - b (also CMP, NEG as 0 - b).</summary>
    Sub = 3,
    /// <summary>dep1 = a, dep2 = b, ndep = borrow-in (0/1) of a - b - bin.</summary>
    Sbb = 4,
    /// <summary>dep1 = result of AND/OR/XOR/TEST/ANDN: CF = OF = AF = 0, ZF/SF/PF from dep1. Also BSF/BSR with dep1 = the source (ZF = source is 0).</summary>
    Logic = 5,
    /// <summary>dep1 = result of INC; ndep = old flags, of which only CF (bit 0) is read, so the carry alone (0/1) will do. OF = (dep1 == sign bit), AF = (low nibble of dep1 == 0).</summary>
    Inc = 6,
    /// <summary>dep1 = result of DEC; ndep = old flags, of which only CF (bit 0) is read. OF = (dep1 == sign bit - 1), AF = (low nibble of dep1 == 0xf).</summary>
    Dec = 7,
    /// <summary>
    /// dep1 = result of SHL (or SHLD) by a masked count &gt; 0; dep2 = the destination shifted by
    /// count - 1 (CF = its top bit; give dep2 = 0 where CF is to be 0). OF = top(dep1) ^ CF,
    /// AF = 1, ZF/SF/PF from dep1.
    /// </summary>
    Shl = 8,
    /// <summary>
    /// dep1 = result of SHR (or SHRD) by a masked count &gt; 0; dep2 = the destination shifted
    /// right by count - 1 (CF = its bit 0). OF = top(dep1 ^ dep2): for count 1 the change of the
    /// sign bit, which for SHR is the original operand's top bit. AF = 1, ZF/SF/PF from dep1.
    /// </summary>
    Shr = 9,
    /// <summary>As <see cref="Shr"/> but for SAR (dep2 shifted arithmetically): OF = 0.</summary>
    Sar = 10,
    /// <summary>dep1 = result of ROL by a masked count &gt; 0; ndep = old flags. CF = bit 0 of dep1, OF = top(dep1) ^ CF; PF/AF/ZF/SF from old.</summary>
    Rol = 11,
    /// <summary>dep1 = result of ROR by a masked count &gt; 0; ndep = old flags. CF = top(dep1), OF = top(dep1) ^ the bit below it; PF/AF/ZF/SF from old.</summary>
    Ror = 12,
    /// <summary>dep1 = low half, dep2 = high half of an unsigned MUL: CF = OF = (high != 0); SF/ZF/PF from low, AF = 0.</summary>
    UMul = 13,
    /// <summary>dep1 = low half, dep2 = high half of a signed IMUL: CF = OF = (high != sign extension of low); SF/ZF/PF from low, AF = 0.</summary>
    SMul = 14,
    /// <summary>dep1 = result, dep2 = source of BLSI: CF = (source != 0), ZF/SF/PF from result, OF = AF = 0.</summary>
    Blsi = 15,
    /// <summary>dep1 = result, dep2 = source of BLSMSK: CF = (source == 0), SF/PF from result, ZF = 0 (the result is never 0), OF = AF = 0.</summary>
    Blsmsk = 16,
    /// <summary>dep1 = result, dep2 = source of BLSR: CF = (source == 0), ZF/SF/PF from result, OF = AF = 0. Also TZCNT/LZCNT (dep1 = the count).</summary>
    Blsr = 17,
    /// <summary>dep1 = result of BZHI, dep2 = CF (1 when the index was &gt;= the operand width): ZF/SF/PF from result, OF = AF = 0.</summary>
    Bzhi = 18,
}
