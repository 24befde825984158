using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Drk.Hv.Cpu;
using Drk.Hv.Devices;

namespace Drk.Hv.Memory;

/// <summary>
/// Guest physical memory: RAM from address 0 in zeroed native memory, MMIO ranges that dispatch
/// to devices, and the write-watch of pages holding translated code.
/// </summary>
/// <remarks>
/// <para>
/// Physical accesses never fault, as on a PC: an address that is neither RAM nor MMIO reads as
/// all-ones and ignores writes (logged once per page in <see cref="UnhandledAccessLog"/>).
/// MMIO ranges take precedence over RAM.
/// </para>
/// <para>
/// <b>Code write-watch.</b> The dispatcher calls <see cref="WatchCodePage"/> for each physical
/// page it translates code from. From then on, every write that would modify the page (a guest
/// store through any vCPU's <see cref="Mmu"/>, a page-table A/D update, a hypervisor write through
/// this class) first raises <see cref="CodePageWritten"/>, then performs the write. The handler
/// invalidates the page's fragments and usually calls <see cref="UnwatchCodePage"/> so later
/// writes run at full speed; a page left watched keeps raising the event. The event fires before
/// the write retires but after the access is known not to fault, so a faulting store never
/// invalidates anything. Writes the hypervisor makes through <see cref="GetRamSpan"/> bypass the
/// watch (boot-time loading only).
/// </para>
/// </remarks>
public sealed unsafe class PhysicalMemory : IDisposable
{
    /// <summary>The base page size.</summary>
    public const ulong PageSize = 4096;

    /// <summary>Default RAM size (256 MiB).</summary>
    public const ulong DefaultRamSize = 256UL << 20;

    /// <summary>Largest RAM size: RAM must end below the 32-bit MMIO hole that holds the local APIC.</summary>
    public const ulong MaxRamSize = 3UL << 30;

    private byte* _ram;
    private readonly byte[] _watched;
    private MmioRange[] _mmio = Array.Empty<MmioRange>();
    private readonly List<WeakReference<Mmu>> _mmus = new();
    private readonly UnhandledAccessLog _log;

    private sealed class MmioRange(ulong start, ulong length, IMmioDevice device)
    {
        public readonly ulong Start = start;
        public readonly ulong Length = length;
        public readonly IMmioDevice Device = device;
    }

    /// <param name="ramSize">RAM size in bytes: a multiple of 4 KiB, at least 1 MiB, at most <see cref="MaxRamSize"/>.</param>
    /// <param name="log">Where unbacked accesses are reported; a private log when null.</param>
    public PhysicalMemory(ulong ramSize = DefaultRamSize, UnhandledAccessLog? log = null)
    {
        if (ramSize < (1UL << 20) || ramSize > MaxRamSize || ramSize % PageSize != 0)
            throw new ArgumentOutOfRangeException(nameof(ramSize), $"RAM size {ramSize:x} must be a multiple of 4 KiB between 1 MiB and 3 GiB");
        RamSize = ramSize;
        _ram = (byte*)NativeMemory.AllocZeroed((nuint)ramSize);
        _watched = new byte[ramSize / PageSize];
        _log = log ?? new UnhandledAccessLog();
    }

    ~PhysicalMemory() => Free();

    /// <summary>Bytes of RAM, mapped at physical address 0.</summary>
    public ulong RamSize { get; }

    /// <summary>Where accesses that nothing answers are reported.</summary>
    public UnhandledAccessLog Log => _log;

    /// <summary>Raised before a write modifies a watched code page. See the class remarks.</summary>
    public event CodePageWriteHandler? CodePageWritten;

    /// <summary>Host address of RAM byte 0; valid until <see cref="Dispose"/>.</summary>
    internal byte* RamBase => _ram;

    /// <summary>True when [<paramref name="address"/>, +<paramref name="length"/>) lies in RAM.</summary>
    public bool IsRam(ulong address, ulong length) => address < RamSize && length <= RamSize - address;

    /// <summary>
    /// A span over RAM for the hypervisor's bulk loads (boot). Bypasses MMIO and the code watch.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not entirely RAM (a host bug: check with <see cref="IsRam"/> first).</exception>
    public Span<byte> GetRamSpan(ulong address, int length)
    {
        if (length < 0 || !IsRam(address, (ulong)length))
            throw new ArgumentOutOfRangeException(nameof(address), $"[{address:x}, +{length:x}) is not RAM");
        return new Span<byte>(_ram + address, length);
    }

    /// <summary>
    /// Maps <paramref name="device"/> at [<paramref name="start"/>, +<paramref name="length"/>) for
    /// every vCPU. Both must be page-aligned; ranges must not overlap.
    /// </summary>
    public void MapMmio(ulong start, ulong length, IMmioDevice device)
    {
        if (start % PageSize != 0 || length == 0 || length % PageSize != 0 || start + length < start)
            throw new ArgumentException($"MMIO range {start:x}+{length:x} must be page-aligned and non-empty");
        foreach (var r in _mmio)
            if (start < r.Start + r.Length && r.Start < start + length)
                throw new ArgumentException($"MMIO range {start:x}+{length:x} overlaps {r.Start:x}+{r.Length:x}");
        var grown = new MmioRange[_mmio.Length + 1];
        _mmio.CopyTo(grown, 0);
        grown[^1] = new MmioRange(start, length, device);
        _mmio = grown;
        FlushAllTlbs();
    }

    /// <summary>True when <paramref name="address"/>'s page is answered by an MMIO device.</summary>
    public bool IsMmio(ulong address) => FindMmio(address) != null;

    private MmioRange? FindMmio(ulong address)
    {
        foreach (var r in _mmio)
            if (address - r.Start < r.Length) return r;
        return null;
    }

    /// <summary>
    /// Reads <paramref name="size"/> (1, 2, 4, 8) bytes at physical <paramref name="address"/>.
    /// A read that crosses a page boundary is split. Unbacked bytes read as 0xff.
    /// </summary>
    public ulong Read(ulong address, int size)
    {
        if ((address & (PageSize - 1)) + (ulong)size > PageSize)
            return ReadSplit(address, size);
        return ReadInPage(address, size);
    }

    /// <summary>
    /// Writes the low <paramref name="size"/> bytes of <paramref name="value"/> at physical
    /// <paramref name="address"/>, raising <see cref="CodePageWritten"/> first for watched pages.
    /// </summary>
    public void Write(ulong address, int size, ulong value, VcpuState? writer = null)
    {
        if ((address & (PageSize - 1)) + (ulong)size > PageSize)
        {
            int first = (int)(PageSize - (address & (PageSize - 1)));
            NotifyIfWatched(address, first, writer);
            NotifyIfWatched(address + (ulong)first, size - first, writer);
            for (int i = 0; i < size; i++)
                WriteInPage(address + (ulong)i, 1, value >> (8 * i));
            return;
        }
        NotifyIfWatched(address, size, writer);
        WriteInPage(address, size, value);
    }

    /// <summary>Copies RAM/MMIO bytes at <paramref name="address"/> into <paramref name="buffer"/> (byte-wise outside RAM).</summary>
    public void ReadBytes(ulong address, Span<byte> buffer)
    {
        if (IsRam(address, (ulong)buffer.Length) && !OverlapsMmio(address, (ulong)buffer.Length))
        {
            new ReadOnlySpan<byte>(_ram + address, buffer.Length).CopyTo(buffer);
            return;
        }
        for (int i = 0; i < buffer.Length; i++) buffer[i] = (byte)ReadInPage(address + (ulong)i, 1);
    }

    /// <summary>Writes <paramref name="bytes"/> at <paramref name="address"/>, honouring MMIO and the code watch.</summary>
    public void WriteBytes(ulong address, ReadOnlySpan<byte> bytes, VcpuState? writer = null)
    {
        for (int i = 0; i < bytes.Length; i++) Write(address + (ulong)i, 1, bytes[i], writer);
    }

    private bool OverlapsMmio(ulong address, ulong length)
    {
        foreach (var r in _mmio)
            if (address < r.Start + r.Length && r.Start < address + length) return true;
        return false;
    }

    private ulong ReadSplit(ulong address, int size)
    {
        ulong v = 0;
        for (int i = 0; i < size; i++) v |= ReadInPage(address + (ulong)i, 1) << (8 * i);
        return v;
    }

    /// <summary>A read that stays inside one page.</summary>
    internal ulong ReadInPage(ulong address, int size)
    {
        if (_mmio.Length != 0 && FindMmio(address) is { } r)
            return r.Device.Read(address - r.Start, size) & SizeMask(size);
        if (address < RamSize) return LoadRam(_ram + address, size);
        _log.Note("physical read", address & ~(PageSize - 1));
        return SizeMask(size);
    }

    /// <summary>A write that stays inside one page; the caller has notified the watch.</summary>
    internal void WriteInPage(ulong address, int size, ulong value)
    {
        if (_mmio.Length != 0 && FindMmio(address) is { } r)
        {
            r.Device.Write(address - r.Start, size, value & SizeMask(size));
            return;
        }
        if (address < RamSize)
        {
            StoreRam(_ram + address, size, value);
            return;
        }
        _log.Note("physical write", address & ~(PageSize - 1));
    }

    internal static ulong LoadRam(byte* p, int size) => size switch
    {
        1 => *p,
        2 => BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(p, 2)),
        4 => BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(p, 4)),
        _ => BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(p, 8)),
    };

    internal static void StoreRam(byte* p, int size, ulong value)
    {
        switch (size)
        {
            case 1: *p = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(new Span<byte>(p, 2), (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(new Span<byte>(p, 4), (uint)value); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(p, 8), value); break;
        }
    }

    internal static ulong SizeMask(int size) => size >= 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;

    // ---- code write-watch -----------------------------------------------------------------

    /// <summary>
    /// Marks the RAM page holding <paramref name="physicalAddress"/> as holding translated code.
    /// Every vCPU's cached write permission for the page is revoked, so the next write to it
    /// takes the MMU's slow path and raises <see cref="CodePageWritten"/>. Non-RAM addresses are ignored.
    /// </summary>
    /// <remarks>Costs a scan of every vCPU's soft TLB; call it once per page, not per fragment.</remarks>
    public void WatchCodePage(ulong physicalAddress)
    {
        if (physicalAddress >= RamSize) return;
        ulong page = physicalAddress / PageSize;
        if (_watched[page] != 0) return;
        _watched[page] = 1;
        foreach (var weak in _mmus)
            if (weak.TryGetTarget(out var mmu)) mmu.RevokeWrites(page * PageSize);
    }

    /// <summary>Stops watching the page holding <paramref name="physicalAddress"/>. Cached translations pick this up lazily.</summary>
    public void UnwatchCodePage(ulong physicalAddress)
    {
        if (physicalAddress < RamSize) _watched[physicalAddress / PageSize] = 0;
    }

    /// <summary>True when the page holding <paramref name="physicalAddress"/> is watched.</summary>
    public bool IsCodePageWatched(ulong physicalAddress) =>
        physicalAddress < RamSize && _watched[physicalAddress / PageSize] != 0;

    /// <summary>Raises the watch event if [address, +size), which lies in one page, is in a watched page.</summary>
    internal void NotifyIfWatched(ulong address, int size, VcpuState? writer)
    {
        if (address < RamSize && _watched[address / PageSize] != 0)
            CodePageWritten?.Invoke(new CodePageWrite(address, size, writer));
    }

    internal void Register(Mmu mmu) => _mmus.Add(new WeakReference<Mmu>(mmu));

    private void FlushAllTlbs()
    {
        foreach (var weak in _mmus)
            if (weak.TryGetTarget(out var mmu)) mmu.FlushAll();
    }

    /// <summary>Frees the RAM. Every <see cref="Mmu"/> over it becomes unusable.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_ram == null) return;
        NativeMemory.Free(_ram);
        _ram = null;
    }
}
