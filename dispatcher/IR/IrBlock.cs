namespace Drk.Dispatcher.IR;

/// <summary>
/// The IR of one guest block: its guest instructions, a flat list of ops in execution order
/// and the types of its temps. Produced by the lowering, changed in place by tool passes and
/// the optimiser, executed by a tier.
/// </summary>
public sealed class IrBlock
{
    private IrOp[] _ops;
    private IrType[] _tempTypes;

    public IrBlock(ulong startRip, GuestInstruction[] instructions, int capacity = 64)
    {
        StartRip = startRip;
        Instructions = instructions;
        _ops = new IrOp[Math.Max(capacity, 4)];
        _tempTypes = new IrType[Math.Max(capacity, 4)];
    }

    /// <summary>Guest RIP of the first instruction.</summary>
    public ulong StartRip { get; }

    /// <summary>The guest instructions, in order. Ops refer to them by index (<see cref="IrOp.Guest"/>).</summary>
    public GuestInstruction[] Instructions { get; }

    /// <summary>The JIT tier's bookkeeping for this block (hotness, compiled code); null until a <see cref="Jit.JitTier"/> first runs it.</summary>
    internal Jit.JitBlockState? JitState;

    /// <summary>Number of ops.</summary>
    public int Count { get; private set; }

    /// <summary>Number of temps (temps are numbered 0..TempCount-1).</summary>
    public int TempCount { get; private set; }

    /// <summary>The ops; only the first <see cref="Count"/> are meaningful.</summary>
    public Span<IrOp> Ops => _ops.AsSpan(0, Count);

    /// <summary>The type of temp <paramref name="id"/>.</summary>
    public IrType TypeOf(ushort id) => _tempTypes[id];

    /// <summary>Allocates a new temp of type <paramref name="type"/>.</summary>
    public IrValue NewTemp(IrType type)
    {
        if (TempCount >= IrOp.None) throw new InvalidOperationException("too many temps in one block");
        if (TempCount == _tempTypes.Length) Array.Resize(ref _tempTypes, _tempTypes.Length * 2);
        _tempTypes[TempCount] = type;
        return new IrValue((ushort)TempCount++, type);
    }

    /// <summary>Appends <paramref name="op"/>.</summary>
    public void Append(in IrOp op)
    {
        if (Count == _ops.Length) Array.Resize(ref _ops, _ops.Length * 2);
        _ops[Count++] = op;
    }

    /// <summary>Inserts <paramref name="op"/> before position <paramref name="index"/>.</summary>
    public void Insert(int index, in IrOp op)
    {
        if ((uint)index > (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        if (Count == _ops.Length) Array.Resize(ref _ops, _ops.Length * 2);
        Array.Copy(_ops, index, _ops, index + 1, Count - index);
        _ops[index] = op;
        Count++;
    }

    /// <summary>Removes all <see cref="IrOpcode.Nop"/> ops.</summary>
    public void Compact()
    {
        int w = 0;
        for (int r = 0; r < Count; r++)
            if (_ops[r].Code != IrOpcode.Nop) _ops[w++] = _ops[r];
        Count = w;
    }

    /// <inheritdoc />
    public override string ToString() => IrPrinter.Format(this);
}
