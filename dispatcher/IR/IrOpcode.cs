namespace Drk.Dispatcher.IR;

/// <summary>
/// The operations of the IR. Each op writes at most one SSA temp (<see cref="IrOp.Dst"/>) and
/// reads up to four (<see cref="IrOp.A"/>..<see cref="IrOp.D"/>). "T" below is the op's
/// <see cref="IrOp.Type"/>. Unless stated otherwise, operands have type T and results are
/// truncated to T's width.
/// </summary>
public enum IrOpcode : byte
{
    /// <summary>Does nothing (left behind by passes that delete ops in place).</summary>
    Nop = 0,

    // ---- values and guest state -------------------------------------------------------
    /// <summary>dst:T = Imm (truncated to T).</summary>
    Const,
    /// <summary>dst:I64 = guest slot Aux (<c>GuestReg</c>).</summary>
    GetReg,
    /// <summary>guest slot Aux = A:I64.</summary>
    PutReg,

    // ---- memory (may fault: #PF, #GP) -------------------------------------------------------
    /// <summary>dst:T = memory[A:I64], |T| bytes, little-endian. May fault.</summary>
    Load,
    /// <summary>memory[A:I64] = B:T, |T| bytes. May fault; nothing is written then.</summary>
    Store,

    // ---- binary arithmetic: dst:T = A op B ----------------------------------------------------
    Add,
    Sub,
    /// <summary>Low half of the product.</summary>
    Mul,
    /// <summary>High half of the unsigned double-width product.</summary>
    MulHiU,
    /// <summary>High half of the signed double-width product.</summary>
    MulHiS,
    And,
    Or,
    Xor,
    /// <summary>dst = A &lt;&lt; B. B:I8 is taken modulo the width of T.</summary>
    Shl,
    /// <summary>Logical right shift; B:I8 taken modulo the width of T.</summary>
    Shr,
    /// <summary>Arithmetic right shift; B:I8 taken modulo the width of T.</summary>
    Sar,
    /// <summary>Rotate left; B:I8 taken modulo the width of T.</summary>
    Rol,
    /// <summary>Rotate right; B:I8 taken modulo the width of T.</summary>
    Ror,

    // ---- division: double-width dividend A:B (high:low), divisor C; raises #DE ---------------
    /// <summary>dst:T = unsigned (A:B) / C. #DE when C = 0 or the quotient does not fit T.</summary>
    DivU,
    /// <summary>dst:T = unsigned (A:B) % C. #DE as for <see cref="DivU"/>.</summary>
    RemU,
    /// <summary>dst:T = signed (A:B) / C, truncating. #DE when C = 0 or the quotient does not fit T.</summary>
    DivS,
    /// <summary>dst:T = signed (A:B) % C (sign of the dividend). #DE as for <see cref="DivS"/>.</summary>
    RemS,

    // ---- unary: dst:T = op A ---------------------------------------------------------------
    Not,
    Neg,
    /// <summary>Number of set bits.</summary>
    Popcnt,
    /// <summary>Count trailing zeros; the width of T when A = 0.</summary>
    Ctz,
    /// <summary>Count leading zeros; the width of T when A = 0.</summary>
    Clz,
    /// <summary>Byte swap (T = I16: swap the two bytes, as the IR defines it).</summary>
    Bswap,

    // ---- comparisons: dst:I1 = A cmp B (operands of type Aux-less T = the operands' type) --------
    CmpEq,
    CmpNe,
    CmpLtU,
    CmpLeU,
    CmpLtS,
    CmpLeS,

    // ---- conversions ------------------------------------------------------------------------
    /// <summary>dst:T = zero-extend A (A narrower than or equal to T).</summary>
    ZExt,
    /// <summary>dst:T = sign-extend A from A's type.</summary>
    SExt,
    /// <summary>dst:T = low bits of A.</summary>
    Trunc,
    /// <summary>dst:T = A:I1 ? B : C.</summary>
    Select,

    // ---- lazy flags ---------------------------------------------------------------------------
    /// <summary>
    /// dst:I1 = x86 condition Aux (<see cref="Flags.Condition"/>) evaluated on the flag thunk
    /// (A = cc_op, B = cc_dep1, C = cc_dep2, D = cc_ndep, all I64).
    /// </summary>
    CondFromFlags,
    /// <summary>
    /// dst:I64 = the six arithmetic RFLAGS bits (CF, PF, AF, ZF, SF, OF in their RFLAGS positions)
    /// computed from the thunk A..D as for <see cref="CondFromFlags"/>.
    /// </summary>
    FlagsFromThunk,

    // ---- exits: a block ends with exactly one of Exit/ExitIndirect/Raise/SoftInt --------------
    /// <summary>If A:I1, leave the block and continue at guest RIP Imm (a side exit).</summary>
    ExitIf,
    /// <summary>Leave the block; continue at guest RIP Imm.</summary>
    Exit,
    /// <summary>Leave the block; continue at guest RIP A:I64. Aux is an <see cref="IndirectKind"/>.</summary>
    ExitIndirect,
    /// <summary>
    /// Raise exception vector Aux at this op's guest instruction (RIP = that instruction's RIP,
    /// state as before it). Imm holds the error code when bit 32 of Imm is set.
    /// </summary>
    Raise,
    /// <summary>Software interrupt INT Aux (INT3 is Aux = 3): delivered with the next instruction's RIP, Imm.</summary>
    SoftInt,

    // ---- system -----------------------------------------------------------------------------
    /// <summary>
    /// dst:I64 = result of system instruction Aux (<c>Drk.Hv.Cpu.SystemOp</c>) with operands
    /// A, B (I64; an absent operand is <see cref="IrOp.None"/>). Reads and writes any guest
    /// state; may fault, halt, jump or stop the machine (then the block ends there).
    /// </summary>
    System,

    // ---- meta (inserted by tools; invisible to the guest) -----------------------------------------
    /// <summary>Call tool callback number Imm with arguments A..D (I64 or absent). No guest-visible effect.</summary>
    CleanCall,
    /// <summary>An inline tool operation; Aux selects which. Reserved for tools (shadow checks).</summary>
    Meta,

    // ---- conditional fault (added after the first ops: numbering of the others unchanged) ----
    /// <summary>
    /// If A:I1, raise exception vector Aux at this op's guest instruction exactly as
    /// <see cref="Raise"/> does (Imm holds the error code when bit 32 of Imm is set); otherwise
    /// nothing. Not a terminator. Like every op that may fault, it comes before the guest-state
    /// changes of its instruction (e.g. #GP(0) for a non-canonical branch target, checked before
    /// CALL pushes or RET pops).
    /// </summary>
    RaiseIf,

    // ---- inline counter (meta; added after RaiseIf: numbering of the others unchanged) ----
    /// <summary>
    /// Adds A (I64) to tool counter number Imm (<c>CounterTable</c>), inline: no call, no guest
    /// state read or written, never faults. How inline instruction and event counts are kept.
    /// </summary>
    CounterAdd,
}
