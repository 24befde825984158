using System.Buffers.Binary;
using System.Text;
using Drk.Dispatcher.Symbols;
using Drk.Hv;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tools;

/// <summary>
/// A tool's view of one vCPU during a callback: registers, privilege level, retired
/// instructions, and side-effect-free reads of guest memory.
/// </summary>
/// <remarks>
/// Guest RIP is written only at block exits, so inside a clean call the instrumented
/// instruction's RIP must be passed as an argument; the other registers are exact at the call.
/// </remarks>
public sealed class ToolVcpu
{
    private readonly Vcpu _vcpu;
    private readonly PhysicalMemory _memory;

    private readonly FramePointerUnwinder _unwinder;
    private readonly GuestWordReader _readWord;

    internal ToolVcpu(Vcpu vcpu, PhysicalMemory memory, FramePointerUnwinder unwinder)
    {
        _vcpu = vcpu;
        _memory = memory;
        _unwinder = unwinder;
        _readWord = TryReadUInt64;
    }

    /// <summary>The vCPU's number (0 is the boot processor).</summary>
    public int Index => _vcpu.Index;

    /// <summary>The current privilege level.</summary>
    public int Cpl => _vcpu.State.Cpl;

    /// <summary>Guest register <paramref name="register"/> (a <see cref="GuestReg"/> number).</summary>
    public ulong this[int register] => _vcpu.State.Slots[register];

    /// <summary>RSP.</summary>
    public ulong Rsp => _vcpu.State.Slots[GuestReg.Rsp];

    /// <summary>RBP.</summary>
    public ulong Rbp => _vcpu.State.Slots[GuestReg.Rbp];

    /// <summary>RAX.</summary>
    public ulong Rax => _vcpu.State.Slots[GuestReg.Rax];

    /// <summary>Guest instructions retired by this vCPU so far (its virtual clock), as of the last block boundary.</summary>
    public ulong InstructionsRetired => _vcpu.State.InstructionsRetired;

    /// <summary>The page-table root (CR3): which address space the vCPU runs in.</summary>
    public ulong Cr3 => _vcpu.State.Sys.Cr3;

    /// <summary>The argument registers of the SysV calling convention, in order.</summary>
    private static readonly int[] ArgumentRegisters = [GuestReg.Rdi, GuestReg.Rsi, GuestReg.Rdx, GuestReg.Rcx, GuestReg.R8, GuestReg.R9];

    /// <summary>Integer argument <paramref name="index"/> (0-5) of a function at its entry.</summary>
    public ulong Argument(int index) => _vcpu.State.Slots[ArgumentRegisters[index]];

    /// <summary>The physical address of guest virtual <paramref name="address"/>, without touching accessed bits or TLBs.</summary>
    public bool TryTranslate(ulong address, out ulong physical) =>
        GuestPeek.TryTranslate(_memory, _vcpu.State, address, out physical);

    /// <summary>Reads guest virtual memory without side effects; false when some byte is unmapped or not RAM.</summary>
    public bool TryRead(ulong address, Span<byte> buffer) => GuestPeek.TryRead(_memory, _vcpu.State, address, buffer);

    /// <summary>Reads an 8-byte little-endian word; false when unreadable.</summary>
    public bool TryReadUInt64(ulong address, out ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        bool ok = TryRead(address, bytes);
        value = ok ? BinaryPrimitives.ReadUInt64LittleEndian(bytes) : 0;
        return ok;
    }

    /// <summary>Reads a 4-byte little-endian word; false when unreadable.</summary>
    public bool TryReadUInt32(ulong address, out uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        bool ok = TryRead(address, bytes);
        value = ok ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : 0;
        return ok;
    }

    /// <summary>Reads a NUL-terminated string of at most <paramref name="maxLength"/> bytes (Latin-1); null when unreadable before its end.</summary>
    public string? TryReadString(ulong address, int maxLength = 256)
    {
        var sb = new StringBuilder();
        Span<byte> chunk = stackalloc byte[64];
        while (sb.Length < maxLength)
        {
            // One translation per chunk, never across a page: bytes past the NUL may be unmapped.
            int size = (int)Math.Min((ulong)Math.Min(chunk.Length, maxLength - sb.Length), 0x1000 - (address & 0xFFF));
            var part = chunk[..size];
            if (!TryRead(address, part)) return null;
            int nul = part.IndexOf((byte)0);
            foreach (byte b in nul < 0 ? part : part[..nul]) sb.Append((char)b);
            if (nul >= 0) return sb.ToString();
            address += (ulong)size;
        }
        return sb.ToString();
    }

    /// <summary>
    /// Walks the guest stack by frame pointers from the current RSP and RBP, for the instruction at
    /// <paramref name="rip"/>: writes the return addresses, innermost first (RIP itself is not
    /// included, as in <see cref="Reports.ErrorReport.Stack"/>), and returns how many it wrote.
    /// </summary>
    public int UnwindStack(ulong rip, Span<ulong> returnAddresses) =>
        _unwinder.Unwind(rip, Rsp, Rbp, _readWord, returnAddresses);

    /// <inheritdoc />
    public override string ToString() => $"vcpu{Index}";
}
