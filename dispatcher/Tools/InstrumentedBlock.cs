using Drk.Dispatcher.IR;
using Iced.Intel;

namespace Drk.Dispatcher.Tools;

/// <summary>
/// A guest block as block passes see it: its instructions with their operands and memory
/// accesses, its lowered IR, where its code lies (kernel or which module), and the insertion
/// points where passes add meta ops.
/// </summary>
/// <remarks>
/// <para>
/// Each <c>Insert*</c> call returns the block's <see cref="IrBuilder"/> positioned at one
/// insertion point, in meta mode: ops appended through it run there, marked as tool ops and
/// attributed to the instrumented instruction. The builder is valid until the next
/// <c>Insert*</c> call. Inserted ops may read any value of the block's IR that is defined at
/// their point (an instruction's memory-access address at the access, a loaded value after it)
/// and may call <see cref="IrBuilder.CleanCall"/>, <see cref="IrBuilder.CounterAdd"/> and
/// <c>Meta</c> ops, but must not write guest state or exit the block (the verifier rejects it).
/// </para>
/// <para>
/// Insertion points, in execution order for one instruction: before it, before each of its
/// memory accesses, after each access, after it. "After" an instruction that ends the block is
/// just before its final exit, so it runs on the fall-through path only.
/// </para>
/// </remarks>
public sealed class InstrumentedBlock
{
    private readonly IrBlock _ir;
    private readonly IrBlock _scratch;
    private readonly IrBuilder _builder;
    private readonly List<Insertion> _insertions = new();
    private readonly InstrumentedInstruction[] _instructions;
    private int _openStart = -1, _openAnchor, _openGuest, _openPlace;

    /// <summary>
    /// Ops inserted at one point. Points of different kinds can share an anchor op (after an
    /// instruction and before the next; after one access and before the next access), so they
    /// are ordered by anchor, then instruction, then <see cref="Place"/> inside the instruction,
    /// then registration: the documented execution order, whichever pass inserted first.
    /// </summary>
    private readonly record struct Insertion(int Anchor, int Guest, int Place, int Sequence, int Start, int End);

    // Places inside one instruction: before it, around each access (by op index), after it, before a given op.
    private const int PlaceBefore = 0;
    private const int PlaceAfter = int.MaxValue - 1;
    private const int PlaceBeforeOp = int.MaxValue;

    internal InstrumentedBlock(IrBlock ir, int cpl, CodeRegion region, ModuleInfo? module)
    {
        _ir = ir;
        Cpl = cpl;
        Region = region;
        Module = module;
        _instructions = Describe(ir);
        _scratch = new IrBlock(ir.StartRip, ir.Instructions, 16);
        for (int id = 0; id < ir.TempCount; id++) _scratch.NewTemp(ir.TypeOf((ushort)id));
        _builder = new IrBuilder(_scratch) { Meta = true };
    }

    /// <summary>The guest RIP of the first instruction.</summary>
    public ulong StartRip => _ir.StartRip;

    /// <summary>The privilege level the block runs at (0: kernel tools never see user blocks).</summary>
    public int Cpl { get; }

    /// <summary>Kernel or module code.</summary>
    public CodeRegion Region { get; }

    /// <summary>The module whose text holds the block, or null for kernel code.</summary>
    public ModuleInfo? Module { get; }

    /// <summary>The block's instructions, in order.</summary>
    public IReadOnlyList<InstrumentedInstruction> Instructions => _instructions;

    /// <summary>The lowered IR, before any tool inserted ops: read it, do not change it.</summary>
    public IrBlock Ir => _ir;

    /// <summary>True when some pass inserted ops.</summary>
    public bool IsInstrumented => _insertions.Count > 0 || (_openStart >= 0 && _scratch.Count > _openStart);

    /// <summary>Inserts before the instruction's first op: its operands are still unread.</summary>
    public IrBuilder InsertBefore(InstrumentedInstruction instruction) => Open(instruction.FirstOp, instruction.Index, PlaceBefore);

    /// <summary>
    /// Inserts after the instruction's effects; for an instruction that ends with an exit (the
    /// block's last), just before that exit (the fall-through path only).
    /// </summary>
    public IrBuilder InsertAfter(InstrumentedInstruction instruction)
    {
        int end = instruction.FirstOp + instruction.OpCount;
        var last = _ir.Ops[end - 1].Code;
        if (last is IrOpcode.Exit or IrOpcode.ExitIndirect or IrOpcode.Raise or IrOpcode.SoftInt) end--;
        return Open(end, instruction.Index, PlaceAfter);
    }

    /// <summary>Inserts just before the access: <see cref="MemoryAccess.Address"/> is defined, memory is not yet touched.</summary>
    public IrBuilder InsertBefore(MemoryAccess access) => Open(access.OpIndex, access.Instruction, 2 * access.OpIndex + 1);

    /// <summary>Inserts just after the access (it did not fault): a read's <see cref="MemoryAccess.Value"/> is defined.</summary>
    public IrBuilder InsertAfter(MemoryAccess access) => Open(access.OpIndex + 1, access.Instruction, 2 * access.OpIndex + 2);

    /// <summary>Inserts before op <paramref name="opIndex"/> of <see cref="Ir"/>, attributed to the instruction it belongs to: for passes that work on the IR itself.</summary>
    public IrBuilder InsertBeforeOp(int opIndex)
    {
        if ((uint)opIndex >= (uint)_ir.Count) throw new ArgumentOutOfRangeException(nameof(opIndex));
        return Open(opIndex, _ir.Ops[opIndex].Guest, PlaceBeforeOp);
    }

    /// <summary>
    /// Adds ops that add to <paramref name="counter"/> exactly the number of guest instructions
    /// this block retires on each run, whichever way it leaves (exit, fault, interrupt-taking
    /// system instruction): the inline counting of DynamoRIO's inscount, made exact.
    /// </summary>
    /// <remarks>See <see cref="RetirementCounting"/> for where the adds go and the one case that is not exact.</remarks>
    public void CountRetiredInstructions(int counter) => RetirementCounting.Insert(this, counter);

    private IrBuilder Open(int anchor, int guest, int place)
    {
        Close();
        _openStart = _scratch.Count;
        _openAnchor = anchor;
        _openGuest = guest;
        _openPlace = place;
        _builder.Guest = guest;
        _builder.Meta = true;
        return _builder;
    }

    private void Close()
    {
        if (_openStart < 0) return;
        if (_scratch.Count > _openStart)
            _insertions.Add(new Insertion(_openAnchor, _openGuest, _openPlace, _insertions.Count, _openStart, _scratch.Count));
        _openStart = -1;
    }

    /// <summary>The block with every insertion in place (the original when nothing was inserted).</summary>
    internal IrBlock Finish()
    {
        Close();
        if (_insertions.Count == 0) return _ir;
        _insertions.Sort(static (x, y) =>
            x.Anchor != y.Anchor ? x.Anchor.CompareTo(y.Anchor)
            : x.Guest != y.Guest ? x.Guest.CompareTo(y.Guest)
            : x.Place != y.Place ? x.Place.CompareTo(y.Place)
            : x.Sequence.CompareTo(y.Sequence));
        var result = new IrBlock(_ir.StartRip, _ir.Instructions, _ir.Count + _scratch.Count);
        for (int id = 0; id < _scratch.TempCount; id++) result.NewTemp(_scratch.TypeOf((ushort)id));
        var ops = _ir.Ops;
        var extra = _scratch.Ops;
        int next = 0;
        for (int p = 0; p <= ops.Length; p++)
        {
            for (; next < _insertions.Count && _insertions[next].Anchor == p; next++)
            {
                var ins = _insertions[next];
                for (int k = ins.Start; k < ins.End; k++) result.Append(extra[k]);
            }
            if (p < ops.Length) result.Append(ops[p]);
        }
        return result;
    }

    private static InstrumentedInstruction[] Describe(IrBlock ir)
    {
        var insns = ir.Instructions;
        var ops = ir.Ops;
        var result = new InstrumentedInstruction[insns.Length];
        var accesses = new List<MemoryAccess>();
        int p = 0;
        // Flags live after instruction i: read by a later one before being written; everything at the end.
        var liveAfter = new RflagsBits[insns.Length];
        var live = RflagsBits.OF | RflagsBits.SF | RflagsBits.ZF | RflagsBits.AF | RflagsBits.CF | RflagsBits.PF | RflagsBits.DF;
        for (int i = insns.Length - 1; i >= 0; i--)
        {
            liveAfter[i] = live;
            var insn = insns[i].Instruction;
            live = (live & ~insn.RflagsModified) | insn.RflagsRead;
        }
        for (int i = 0; i < insns.Length; i++)
        {
            int first = p;
            bool mayFault = false;
            accesses.Clear();
            for (; p < ops.Length && ops[p].Guest == i; p++)
            {
                ref readonly var op = ref ops[p];
                switch (op.Code)
                {
                    case IrOpcode.Load:
                        accesses.Add(new MemoryAccess(i, p, MemoryAccessKind.Read, Bytes(op.Type), new IrValue(op.A, IrType.I64), new IrValue(op.Dst, op.Type)));
                        mayFault = true;
                        break;
                    case IrOpcode.Store:
                        accesses.Add(new MemoryAccess(i, p, MemoryAccessKind.Write, Bytes(op.Type), new IrValue(op.A, IrType.I64), new IrValue(op.B, op.Type)));
                        mayFault = true;
                        break;
                    default:
                        mayFault |= IrOpcodes.MayFault(op.Code);
                        break;
                }
            }
            bool ends = i == insns.Length - 1;
            result[i] = new InstrumentedInstruction(i, insns[i].Instruction, first, p - first, accesses.ToArray(), liveAfter[i], mayFault, ends);
        }
        return result;
    }

    private static int Bytes(IrType type) => type switch
    {
        IrType.I8 => 1,
        IrType.I16 => 2,
        IrType.I32 => 4,
        _ => 8,
    };
}
