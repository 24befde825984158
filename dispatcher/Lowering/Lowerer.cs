using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Lowering;

/// <summary>
/// Turns a decoded guest block into IR: each instruction is offered to the instruction
/// families in turn; an instruction no family handles becomes a guest #UD.
/// </summary>
/// <remarks>
/// The result always ends in exactly one terminator (Exit, ExitIndirect, Raise or SoftInt).
/// When the last guest instruction falls through (the block was cut at a page end or a length
/// limit), an Exit to the next instruction is appended. Lowering is deterministic: the same
/// instructions give the same IR, which fault recovery and the tier-equivalence tests rely on.
/// An instruction that ends the block (branches, REP string instructions, most system
/// instructions, POPF) emits its own exit; instructions after it are not lowered. A REP string
/// instruction runs one iteration per execution of its block and exits back to its own RIP
/// (see <see cref="StringLowering"/>), so each iteration retires one instruction.
/// </remarks>
public sealed class Lowerer
{
    private readonly IInstructionLowering[] _families =
    {
        new DataMovementLowering(),
        new StackLowering(),
        new ArithmeticLowering(),
        new MulDivLowering(),
        new ShiftLowering(),
        new BitLowering(),
        new FlagInstructionLowering(),
        new ControlFlowLowering(),
        new StringLowering(),
        new SystemLowering(),
    };

    /// <summary>Lowers <paramref name="instructions"/> (non-empty, consecutive) into a new block, for CPL 0.</summary>
    public IrBlock Lower(GuestInstruction[] instructions) => Lower(instructions, cpl: 0);

    /// <summary>
    /// Lowers <paramref name="instructions"/> (non-empty, consecutive) into a new block for code
    /// running at privilege level <paramref name="cpl"/> (part of the fragment key; POPF depends on it).
    /// </summary>
    public IrBlock Lower(GuestInstruction[] instructions, int cpl)
    {
        var block = LowerBlock(instructions, cpl);
        VerifyInDebugBuilds(block);
        return block;
    }

    /// <summary>Debug builds check every lowered block against the IR contract (Release: GuestRunner does).</summary>
    [System.Diagnostics.Conditional("DEBUG")]
    private static void VerifyInDebugBuilds(IrBlock block) => IrVerifier.ThrowIfInvalid(block, "lowering");

    private IrBlock LowerBlock(GuestInstruction[] instructions, int cpl)
    {
        if (instructions.Length == 0) throw new ArgumentException("a block has at least one instruction");
        var block = new IrBlock(instructions[0].Rip, instructions, instructions.Length * 12);
        var builder = new IrBuilder(block);
        var cx = new LoweringContext(builder) { Cpl = cpl };
        for (int i = 0; i < instructions.Length; i++)
        {
            builder.Guest = i;
            cx.Insn = instructions[i].Instruction;
            if (!TryLowerOne(cx))
            {
                builder.Raise(ExceptionVector.InvalidOpcode);
                return block;
            }
            if (IsTerminated(block)) return block;
        }
        builder.Exit(instructions[^1].NextRip);
        return block;
    }

    private bool TryLowerOne(LoweringContext cx)
    {
        if (cx.Insn.Code == Iced.Intel.Code.INVALID) return false;
        foreach (var family in _families)
            if (family.TryLower(cx)) return true;
        return false;
    }

    /// <summary>True when the block's last op ends it.</summary>
    public static bool IsTerminated(IrBlock block) =>
        block.Count > 0 && IsTerminator(block.Ops[^1].Code);

    /// <summary>True for the ops that end a block.</summary>
    public static bool IsTerminator(IrOpcode code) =>
        code is IrOpcode.Exit or IrOpcode.ExitIndirect or IrOpcode.Raise or IrOpcode.SoftInt;
}
