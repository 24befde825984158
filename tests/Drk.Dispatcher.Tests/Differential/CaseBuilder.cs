using Drk.Dispatcher.Tests.Native;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// Builds one differential case: the code (through <see cref="Code"/>), the initial registers and
/// RFLAGS, the initial scratch image, and what is not to be compared (flags or register bits
/// the architecture leaves undefined for this case). Reused for every case of a run.
/// </summary>
/// <remarks>
/// Registers whose values a case depends on for safety (memory bases and indexes, the stack
/// pointer, string counts) are <em>pinned</em>: later random value assignment leaves them alone,
/// so an operand that happens to be the base register keeps a value that addresses scratch.
/// </remarks>
public sealed class CaseBuilder
{
    private ushort _pinned;
    private byte[] _baseScratch = Array.Empty<byte>();

    public CaseBuilder(TestMachineLayout layout)
    {
        Layout = layout;
        Code = new CodeEmitter(layout.CodeAddress);
        Rng = new Random(0);
    }

    public TestMachineLayout Layout { get; }
    public Random Rng { get; private set; }
    public CodeEmitter Code { get; }
    public CpuRegisters Regs { get; } = new();
    public byte[] Scratch { get; } = new byte[TestMachineLayout.ScratchSize];

    /// <summary>RFLAGS bits not to compare beyond what Iced reports undefined for the instructions.</summary>
    public ulong UndefinedFlags;

    /// <summary>Per GPR, bits not to compare (e.g. the upper half of a BSF r32 destination for a zero source).</summary>
    public readonly ulong[] GprDontCare = new ulong[16];

    /// <summary>A remark about the case for the failure message (e.g. "divisor chosen so that no #DE").</summary>
    public string? Note;

    /// <summary>The FS/GS bases the interpreter starts with (interpreter-only tests; natively they are the host's).</summary>
    public ulong FsBase, GsBase;

    /// <summary>
    /// Sequences: when &gt;= 0, every memory operand is addressed through this base register (and
    /// <see cref="SequenceIndex"/>), which the sequence never writes, because registers change
    /// between instructions and only these keep the values addresses were computed from.
    /// </summary>
    public int SequenceBase = -1, SequenceIndex = -1;

    /// <summary>The encoded code after <see cref="Finish"/>.</summary>
    public byte[] Bytes { get; private set; } = Array.Empty<byte>();

    /// <summary>Starts a case: random registers, random flags, RSP at the stack top, the base scratch image.</summary>
    public void Start(Random rng, byte[] baseScratch)
    {
        Rng = rng;
        _baseScratch = baseScratch;
        Restart();
    }

    /// <summary>Discards the attempt so far (a generator retries when its random choice cannot be encoded or would fault).</summary>
    public void Restart()
    {
        Code.Reset(Layout.CodeAddress);
        _baseScratch.AsSpan().CopyTo(Scratch);
        for (int i = 0; i < 16; i++) Regs.Gpr[i] = RandomRegisterValue();
        // RSP: 8 KiB of stack below and above, sometimes not 8-byte aligned.
        Regs.Gpr[4] = Layout.StackTop - (ulong)(8 * Rng.Next(0, 64)) - (ulong)(Rng.Next(8) == 0 ? Rng.Next(1, 8) : 0);
        Regs.Rflags = EdgeValues.Rflags(Rng);
        _pinned = 1 << 4;
        UndefinedFlags = 0;
        Array.Clear(GprDontCare);
        Note = null;
        FsBase = GsBase = 0;
        SequenceBase = SequenceIndex = -1;
        Bytes = Array.Empty<byte>();
    }

    /// <summary>Encodes the code emitted; throws when it cannot be encoded.</summary>
    public void Finish() => Bytes = Code.Encode();

    /// <summary>Tries to encode; false when the random operand choice has no encoding (e.g. AH with a REX prefix).</summary>
    public bool TryFinish()
    {
        try
        {
            Bytes = Code.Encode();
            return Bytes.Length <= TestMachineLayout.MaxCodeLength;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private ulong RandomRegisterValue() => Rng.Next(4) switch
    {
        0 => EdgeValues.Value(Rng, 64),
        1 => EdgeValues.Value(Rng, 32) | (EdgeValues.NextUInt64(Rng) & 0xFFFF_FFFF_0000_0000UL),
        _ => EdgeValues.NextUInt64(Rng),
    };

    // ---- registers ----------------------------------------------------------------------------

    /// <summary>The GPR index (0..15) of any sub-register.</summary>
    public static int Index(Register reg) => reg.GetFullRegister() - Register.RAX;

    public static bool IsHighByte(Register reg) => reg is Register.AH or Register.CH or Register.DH or Register.BH;

    public bool IsPinned(int gpr) => (_pinned & (1 << gpr)) != 0;

    /// <summary>Sets a full register and pins it.</summary>
    public void Pin(int gpr, ulong value)
    {
        Regs.Gpr[gpr] = value;
        _pinned |= (ushort)(1 << gpr);
    }

    /// <summary>Unpins RSP so it may be used as a data register (it is pinned to the stack top by default).</summary>
    public void ReleaseStackPointer() => _pinned &= unchecked((ushort)~(1 << 4));

    /// <summary>A random register of <paramref name="bytes"/> bytes whose full register is not in <paramref name="avoid"/> (a GPR bit mask).</summary>
    public Register PickRegister(int bytes, int avoid = 0, bool allowHighByte = true)
    {
        while (true)
        {
            if (bytes == 1 && allowHighByte && Rng.Next(5) == 0)
            {
                var high = Register.AH + Rng.Next(4);
                if ((avoid & (1 << Index(high))) == 0) return high;
                continue;
            }
            int gpr = Rng.Next(16);
            // RSP as a data register is legal and tested, but rarely so most cases keep a stack.
            if (gpr == 4 && Rng.Next(4) != 0) continue;
            if ((avoid & (1 << gpr)) != 0) continue;
            return RegisterOf(gpr, bytes);
        }
    }

    /// <summary>The register of <paramref name="bytes"/> bytes with GPR number <paramref name="gpr"/> (no high-byte registers).</summary>
    public static Register RegisterOf(int gpr, int bytes) => bytes switch
    {
        1 => gpr < 4 ? Register.AL + gpr : gpr < 8 ? Register.SPL + (gpr - 4) : Register.R8L + (gpr - 8),
        2 => Register.AX + gpr,
        4 => Register.EAX + gpr,
        8 => Register.RAX + gpr,
        _ => throw new ArgumentOutOfRangeException(nameof(bytes)),
    };

    /// <summary>The value of a (sub-)register in the initial state.</summary>
    public ulong Get(Register reg)
    {
        ulong full = Regs.Gpr[Index(reg)];
        if (IsHighByte(reg)) return (full >> 8) & 0xFF;
        return full & EdgeValues.Mask(8 * reg.GetSize());
    }

    /// <summary>Sets the bits of <paramref name="reg"/> in the initial state, keeping the rest of the full register (unless pinned: then nothing changes).</summary>
    public void Set(Register reg, ulong value)
    {
        int gpr = Index(reg);
        if (IsPinned(gpr)) return;
        SetUnpinned(reg, value);
    }

    /// <summary>As <see cref="Set"/>, and pins the register.</summary>
    public void SetAndPin(Register reg, ulong value)
    {
        SetUnpinned(reg, value);
        _pinned |= (ushort)(1 << Index(reg));
    }

    private void SetUnpinned(Register reg, ulong value)
    {
        int gpr = Index(reg);
        ulong full = Regs.Gpr[gpr];
        if (IsHighByte(reg)) full = (full & ~0xFF00UL) | ((value & 0xFF) << 8);
        else
        {
            ulong mask = EdgeValues.Mask(8 * reg.GetSize());
            full = (full & ~mask) | (value & mask);
        }
        Regs.Gpr[gpr] = full;
    }

    // ---- memory -------------------------------------------------------------------------------

    /// <summary>The scratch offset of linear address <paramref name="address"/>.</summary>
    public int Offset(ulong address) => checked((int)(address - Layout.ScratchAddress));

    public ulong ReadScratch(ulong address, int bytes)
    {
        ulong v = 0;
        int o = Offset(address);
        for (int i = 0; i < bytes; i++) v |= (ulong)Scratch[o + i] << (8 * i);
        return v;
    }

    public void WriteScratch(ulong address, int bytes, ulong value)
    {
        int o = Offset(address);
        for (int i = 0; i < bytes; i++) Scratch[o + i] = (byte)(value >> (8 * i));
    }

    /// <summary>A random address of <paramref name="bytes"/> bytes in the data part of scratch, aligned to <paramref name="alignment"/>.</summary>
    public ulong PickDataAddress(int bytes, int alignment = 1, int margin = 0x1000)
    {
        int lo = TestMachineLayout.DataStart + margin, hi = TestMachineLayout.DataEnd - margin - bytes;
        int o = Rng.Next(lo, hi);
        if (alignment > 1) o &= -alignment;
        else if (Rng.Next(3) == 0) o &= -Math.Min(bytes, 8); // naturally aligned a third of the time
        return Layout.ScratchAddress + (ulong)o;
    }

    /// <summary>
    /// A memory operand addressing <paramref name="target"/> through a random addressing form:
    /// [base], [base+disp8], [base+disp32], [base+index*scale+disp], [index*scale+disp32],
    /// [rip+disp32]. Base and index registers are pinned to values that make the effective
    /// address <paramref name="target"/> (with 64-bit wrap-around for large indexes).
    /// </summary>
    /// <param name="avoid">GPRs (bit mask) the addressing must not use.</param>
    public MemoryOperand PickMemory(ulong target, int avoid = 0, bool allowRipRelative = true)
    {
        if (SequenceBase >= 0) return PickSequenceMemory(target, allowRipRelative);
        while (true)
        {
            int form = Rng.Next(12);
            if (form == 11 && !allowRipRelative) continue;
            if (form == 11)
                return new MemoryOperand(Register.RIP, (long)target);

            int baseGpr = form == 10 ? -1 : PickAddressRegister(avoid, allowRsp: true);
            int indexGpr = form >= 6 ? PickAddressRegister(avoid | (baseGpr >= 0 ? 1 << baseGpr : 0), allowRsp: false) : -1;
            if (form >= 6 && indexGpr < 0) continue;
            if (baseGpr >= 0 && IsPinned(baseGpr) && baseGpr != 4) continue;
            if (indexGpr >= 0 && IsPinned(indexGpr)) continue;
            if (baseGpr == 4 && IsPinned(4) && indexGpr < 0 && form != 10)
            {
                // RSP is pinned to the stack: address relative to it with a displacement.
                long d = (long)(target - Regs.Gpr[4]);
                if (d != (int)d) continue;
                return new MemoryOperand(Register.RSP, Register.None, 1, d, d == 0 ? 0 : d == (sbyte)d ? 1 : 8);
            }
            if (baseGpr == 4 && IsPinned(4)) continue;

            int scale = 1 << Rng.Next(4);
            long disp; int displSize;
            switch (form)
            {
                case <= 1: disp = 0; displSize = 0; break;                              // [base]
                case <= 3: disp = (sbyte)Rng.Next(256); displSize = 1; break;           // [base+disp8]
                case <= 5: disp = Rng.Next(int.MinValue, int.MaxValue); displSize = 8; break; // [base+disp32] (displSize 8 = disp32 under 64-bit addressing)
                case 6: disp = 0; displSize = 0; break;                                 // [base+index*s]
                case 7: disp = (sbyte)Rng.Next(256); displSize = 1; break;
                case <= 9: disp = Rng.Next(int.MinValue, int.MaxValue); displSize = 8; break;
                default: disp = Rng.Next(int.MinValue, int.MaxValue); displSize = 8; break; // [index*s+disp32]
            }
            if (baseGpr < 0)
            {
                // index * scale + disp32 == target: move disp so that the rest divides exactly.
                int shift = System.Numerics.BitOperations.Log2((uint)scale);
                disp += (long)((target - (ulong)disp) & (ulong)(scale - 1));
                if (disp != (int)disp) continue;
                ulong index = (target - (ulong)disp) >> shift;
                // Bits shifted out by the scale do not change the address; set some to check that.
                if (shift > 0 && Rng.Next(2) == 0) index |= (ulong)Rng.Next(1 << shift) << (64 - shift);
                Pin(indexGpr, index);
                return new MemoryOperand(Register.None, Register.RAX + indexGpr, scale, disp, 8);
            }
            ulong indexValue = 0;
            if (indexGpr >= 0)
            {
                indexValue = Rng.Next(3) switch
                {
                    0 => (ulong)(long)Rng.Next(-64, 64),
                    1 => (ulong)Rng.Next(0, 0x1000),
                    _ => EdgeValues.NextUInt64(Rng), // the base wraps around to compensate
                };
                Pin(indexGpr, indexValue);
            }
            Pin(baseGpr, target - (ulong)disp - indexValue * (ulong)scale);
            return new MemoryOperand(Register.RAX + baseGpr, indexGpr >= 0 ? Register.RAX + indexGpr : Register.None,
                indexGpr >= 0 ? scale : 1, disp, displSize);
        }
    }

    private MemoryOperand PickSequenceMemory(ulong target, bool allowRipRelative)
    {
        int form = Rng.Next(allowRipRelative ? 5 : 4);
        if (form == 4) return new MemoryOperand(Register.RIP, (long)target);
        ulong baseValue = Regs.Gpr[SequenceBase];
        if (form < 2 || SequenceIndex < 0)
        {
            long d = (long)(target - baseValue);
            return new MemoryOperand(Register.RAX + SequenceBase, Register.None, 1, d, d == 0 ? 0 : d == (sbyte)d ? 1 : 8);
        }
        int scale = 1 << Rng.Next(4);
        long disp = (long)(target - baseValue - Regs.Gpr[SequenceIndex] * (ulong)scale);
        return new MemoryOperand(Register.RAX + SequenceBase, Register.RAX + SequenceIndex, scale, disp, disp == (sbyte)disp ? 1 : 8);
    }

    private int PickAddressRegister(int avoid, bool allowRsp)
    {
        for (int tries = 0; tries < 64; tries++)
        {
            int g = Rng.Next(16);
            if (g == 4 && !allowRsp) continue;
            if ((avoid & (1 << g)) != 0) continue;
            return g;
        }
        return -1;
    }

    // ---- flags ----------------------------------------------------------------------------------

    public bool Flag(ulong bit) => (Regs.Rflags & bit) != 0;

    public void SetFlag(ulong bit, bool value) => Regs.Rflags = value ? Regs.Rflags | bit : Regs.Rflags & ~bit;
}
