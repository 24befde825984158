using Iced.Intel;

namespace Drk.Dispatcher.Tests.Native;

/// <summary>
/// Encodes a short x86-64 sequence at a fixed address with Iced's encoder, instruction by
/// instruction and with exactly the encodings asked for, plus labels for branches.
/// </summary>
/// <remarks>
/// Iced's Assembler re-lays branches (short/near) and may append data; differential cases need
/// the very encoding under test (e.g. <c>Je_rel32_64</c> and <c>Je_rel8_64</c> separately), so
/// this emitter encodes twice: once to learn every instruction's length (branch encodings have
/// fixed sizes), once with the resolved targets.
/// </remarks>
public sealed class CodeEmitter
{
    private readonly List<Item> _items = new();
    private readonly List<ulong> _labels = new();
    private readonly ByteWriter _writer = new();

    private struct Item
    {
        public Instruction Insn;
        public byte[]? Raw;
        public int BindsLabel;   // -1 unless this item only binds a label
        public int BranchLabel;  // -1 unless Insn's branch target is a label
        public int ImmediateLabel; // -1 unless operand ImmediateOperand is a label's address
        public int ImmediateOperand;
    }

    public CodeEmitter(ulong rip) => Rip = rip;

    /// <summary>Address of the first byte.</summary>
    public ulong Rip { get; private set; }

    /// <summary>Number of instructions and raw byte runs emitted so far.</summary>
    public int Count => _items.Count;

    /// <summary>Forgets everything emitted and restarts at <paramref name="rip"/>.</summary>
    public void Reset(ulong rip)
    {
        Rip = rip;
        _items.Clear();
        _labels.Clear();
    }

    public void Emit(in Instruction insn) =>
        _items.Add(new Item { Insn = insn, BindsLabel = -1, BranchLabel = -1, ImmediateLabel = -1 });

    /// <summary>Removes the last instruction, label binding or byte run emitted.</summary>
    public void RemoveLast() => _items.RemoveAt(_items.Count - 1);

    /// <summary>Appends bytes as they are (encodings Iced would not produce, e.g. long NOPs).</summary>
    public void Raw(params byte[] bytes) =>
        _items.Add(new Item { Raw = bytes, BindsLabel = -1, BranchLabel = -1, ImmediateLabel = -1 });

    /// <summary>A new, unbound label.</summary>
    public int CreateLabel()
    {
        _labels.Add(0);
        return _labels.Count - 1;
    }

    /// <summary>Binds <paramref name="label"/> to the address of whatever is emitted next.</summary>
    public void Bind(int label) =>
        _items.Add(new Item { BindsLabel = label, BranchLabel = -1, ImmediateLabel = -1 });

    /// <summary>Emits a branch of the given encoding (e.g. <c>Jne_rel8_64</c>, <c>Call_rel32_64</c>, <c>Loop_rel8_64_RCX</c>) to <paramref name="label"/>.</summary>
    public void Branch(Code code, int label) =>
        _items.Add(new Item { Insn = Instruction.CreateBranch(code, Rip), BindsLabel = -1, BranchLabel = label, ImmediateLabel = -1 });

    /// <summary>Emits <paramref name="insn"/> with immediate operand <paramref name="operand"/> replaced by the address of <paramref name="label"/>.</summary>
    public void EmitWithLabelImmediate(in Instruction insn, int operand, int label) =>
        _items.Add(new Item { Insn = insn, BindsLabel = -1, BranchLabel = -1, ImmediateLabel = label, ImmediateOperand = operand });

    /// <summary>The address of <paramref name="label"/>; valid after <see cref="Encode"/>.</summary>
    public ulong AddressOf(int label) => _labels[label];

    /// <summary>Encodes everything; throws when an instruction cannot be encoded or a short branch is out of range.</summary>
    public byte[] Encode()
    {
        // Pass 1: lengths (branches aimed at themselves always fit), which fixes every label.
        EncodeAll(resolve: false);
        // Pass 2: real targets; lengths cannot change because every encoding is explicit.
        return EncodeAll(resolve: true);
    }

    private byte[] EncodeAll(bool resolve)
    {
        _writer.Clear();
        var encoder = Encoder.Create(64, _writer);
        ulong ip = Rip;
        foreach (var item in _items)
        {
            if (item.BindsLabel >= 0)
            {
                if (!resolve) _labels[item.BindsLabel] = ip;
                else if (_labels[item.BindsLabel] != ip) throw new InvalidOperationException("label moved between passes");
                continue;
            }
            if (item.Raw != null)
            {
                foreach (var b in item.Raw) _writer.WriteByte(b);
                ip += (ulong)item.Raw.Length;
                continue;
            }
            var insn = item.Insn;
            if (item.BranchLabel >= 0) insn.NearBranch64 = resolve ? _labels[item.BranchLabel] : ip;
            if (item.ImmediateLabel >= 0) insn.SetImmediate(item.ImmediateOperand, resolve ? _labels[item.ImmediateLabel] : ulong.MaxValue);
            if (!encoder.TryEncode(insn, ip, out uint length, out string? error))
                throw new InvalidOperationException($"cannot encode {insn} ({insn.Code}) at {ip:x}: {error}");
            ip += length;
        }
        return _writer.ToArray();
    }

    /// <summary>Encodes one instruction at <paramref name="rip"/>.</summary>
    public static bool TryEncodeOne(in Instruction insn, ulong rip, out byte[] bytes, out string? error)
    {
        var writer = new ByteWriter();
        bool ok = Encoder.Create(64, writer).TryEncode(insn, rip, out _, out error);
        bytes = ok ? writer.ToArray() : Array.Empty<byte>();
        return ok;
    }

    private sealed class ByteWriter : CodeWriter
    {
        private byte[] _bytes = new byte[256];
        private int _count;

        public void Clear() => _count = 0;

        public override void WriteByte(byte value)
        {
            if (_count == _bytes.Length) Array.Resize(ref _bytes, _bytes.Length * 2);
            _bytes[_count++] = value;
        }

        public byte[] ToArray() => _bytes.AsSpan(0, _count).ToArray();
    }
}
