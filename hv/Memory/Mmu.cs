using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Drk.Hv.Cpu;

namespace Drk.Hv.Memory;

/// <summary>
/// One vCPU's view of guest memory: linear addresses translated by the long-mode page walk
/// through a <see cref="SoftTlb"/>, permission-checked at the vCPU's CPL, then RAM, MMIO or the
/// vCPU's local APIC page.
/// </summary>
/// <remarks>
/// <para>
/// <b>Fast path.</b> A read or write is one tag compare and one native load or store: the tag of
/// the entry indexed by the page of <c>address</c> must equal the page of the access's last byte
/// (so page-crossing accesses, and any entry with flag bits, fall through to the slow path).
/// Roughly a dozen instructions; no allocation anywhere on either path.
/// </para>
/// <para>
/// <b>Slow path.</b> Non-canonical addresses (long mode) raise #GP(0); otherwise the walk runs
/// (<see cref="PageWalker"/>), faults become #PF with the architected error code and CR2 = the
/// linear address of the first byte that could not be translated, and the entry is refilled. A page-crossing access
/// translates both pages before touching either, so it completes or faults with nothing written.
/// With CR0.PG clear, linear = physical and nothing is checked.
/// </para>
/// <para>
/// <b>Coherence.</b> The MMU does not watch the control registers: whoever writes CR3 calls
/// <see cref="FlushNonGlobal"/>, whoever changes CR0, CR4 or EFER calls <see cref="FlushAll"/>;
/// INVLPG calls <see cref="FlushPage"/>.
/// <see cref="Drk.Hv.Cpu.SystemInstructions"/> does both. Until then stale translations are used, as on
/// hardware.
/// </para>
/// </remarks>
public sealed unsafe class Mmu : ISupervisorMemory
{
    private const ulong PageMask = ~0xFFFUL;

    private readonly PhysicalMemory _physical;
    private readonly VcpuState _state;
    private readonly SoftTlb _tlb = new();
    // The TLB's arrays, held here so the fast path loads one field to find its entry.
    private readonly TlbEntry[] _supervisor;
    private readonly TlbEntry[] _user;
    private readonly byte* _ram;
    // Set while this MMU raises CodePageWritten for one of its own stores, so a handler can cancel it.
    private bool _notifyingWrite;
    private bool _writeCancelled;
    private ulong _localBase = ulong.MaxValue;
    private ulong _localLength;
    private IMmioDevice? _local;

    public Mmu(PhysicalMemory physical, VcpuState state)
    {
        _physical = physical;
        _state = state;
        _ram = physical.RamBase;
        _supervisor = _tlb.Supervisor;
        _user = _tlb.User;
        physical.Register(this);
    }

    /// <summary>The machine's physical memory.</summary>
    public PhysicalMemory Physical => _physical;

    /// <summary>The vCPU whose CPL and control registers this MMU uses.</summary>
    public VcpuState State => _state;

    /// <summary>The soft TLB (exposed for statistics and tests).</summary>
    public SoftTlb Tlb => _tlb;

    /// <summary>
    /// Maps a device seen only by this vCPU (its local APIC) at [<paramref name="start"/>,
    /// +<paramref name="length"/>), page-aligned; it hides RAM and shared MMIO there. Replaces
    /// any earlier local mapping (APIC_BASE relocation) and flushes the TLB.
    /// </summary>
    public void MapLocalMmio(ulong start, ulong length, IMmioDevice device)
    {
        _localBase = start;
        _localLength = length;
        _local = device;
        FlushAll();
    }

    /// <summary>
    /// The soft TLB's <see cref="SoftTlb.Generation"/>: unchanged means every translation gives
    /// what it gave before (for the same privilege), since the TLB is all <see cref="Translate(ulong, AccessKind, out ulong, out GuestFault)"/> consults
    /// once paging is on (with paging off every translation fills, so the generation moves on each).
    /// </summary>
    public ulong TranslationGeneration
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _tlb.Generation;
    }

    /// <summary>Drops every cached translation, global ones included (paging-mode change).</summary>
    public void FlushAll() => _tlb.FlushAll();

    /// <summary>Drops every cached translation but the global ones (G bit under CR4.PGE): what a CR3 write does.</summary>
    public void FlushNonGlobal() => _tlb.FlushNonGlobal();

    /// <summary>Drops the cached translation of the page holding <paramref name="linear"/> (INVLPG).</summary>
    public void FlushPage(ulong linear) => _tlb.FlushPage(linear);

    internal void RevokeWrites(ulong physicalPage) => _tlb.RevokeWrites(physicalPage);

    /// <summary>
    /// Called from a <see cref="PhysicalMemory.CodePageWritten"/> handler: the store this MMU is
    /// about to perform does not happen (no byte of it is written) and the access fails, as a
    /// faulting store would, so the instruction can be restarted (the dispatcher's answer to a
    /// block that writes its own code). The fault the access reports is meaningless: whoever
    /// cancels knows. Returns false, and cancels nothing, when the write being reported is not a
    /// store through this MMU (a page-walk A/D update, a hypervisor write, another vCPU).
    /// </summary>
    public bool CancelPendingWrite()
    {
        if (!_notifyingWrite) return false;
        _writeCancelled = true;
        return true;
    }

    /// <summary>True when <paramref name="address"/> is canonical for 48-bit linear addresses.</summary>
    public static bool IsCanonical(ulong address) => (ulong)((long)(address << 16) >> 16) == address;

    // ---- IGuestMemory ------------------------------------------------------------------------

    /// <inheritdoc />
    public bool Read(ulong address, int size, out ulong value, out GuestFault fault)
    {
        bool user = _state.Cpl == 3;
        ref TlbEntry e = ref Entry(user ? _user : _supervisor, address);
        if (e.ReadTag == ((address + (ulong)(size - 1)) & PageMask))
        {
            value = Load((byte*)(e.HostAddend + (nint)address), size);
            Unsafe.SkipInit(out fault);
            return true;
        }
        return ReadSlow(address, size, user, out value, out fault);
    }

    /// <inheritdoc />
    public bool Write(ulong address, int size, ulong value, out GuestFault fault)
    {
        bool user = _state.Cpl == 3;
        ref TlbEntry e = ref Entry(user ? _user : _supervisor, address);
        if (e.WriteTag == ((address + (ulong)(size - 1)) & PageMask))
        {
            Store((byte*)(e.HostAddend + (nint)address), size, value);
            Unsafe.SkipInit(out fault);
            return true;
        }
        return WriteSlow(address, size, value, user, out fault);
    }

    /// <inheritdoc />
    public int Fetch(ulong address, Span<byte> buffer, out GuestFault fault)
    {
        fault = default;
        bool user = _state.Cpl == 3;
        int done = 0;
        while (done < buffer.Length)
        {
            ulong at = address + (ulong)done;
            int chunk = (int)Math.Min((ulong)(buffer.Length - done), 0x1000 - (at & 0xFFF));
            ref TlbEntry e = ref Entry(user ? _user : _supervisor, at);
            if (e.FetchTag == (at & PageMask))
            {
                new ReadOnlySpan<byte>((byte*)(e.HostAddend + (nint)at), chunk).CopyTo(buffer.Slice(done, chunk));
            }
            else
            {
                if (!Translate(at, AccessKind.Execute, user, out ulong physical, out fault)) return done;
                for (int i = 0; i < chunk; i++) buffer[done + i] = (byte)PhysicalRead(physical + (ulong)i, 1);
            }
            done += chunk;
        }
        return done;
    }

    // ---- ISupervisorMemory -------------------------------------------------------------------

    /// <inheritdoc />
    public bool ReadSupervisor(ulong address, int size, out ulong value, out GuestFault fault)
    {
        ref TlbEntry e = ref Entry(_supervisor, address);
        if (e.ReadTag == ((address + (ulong)(size - 1)) & PageMask))
        {
            value = Load((byte*)(e.HostAddend + (nint)address), size);
            Unsafe.SkipInit(out fault);
            return true;
        }
        return ReadSlow(address, size, false, out value, out fault);
    }

    /// <inheritdoc />
    public bool WriteSupervisor(ulong address, int size, ulong value, out GuestFault fault)
    {
        ref TlbEntry e = ref Entry(_supervisor, address);
        if (e.WriteTag == ((address + (ulong)(size - 1)) & PageMask))
        {
            Store((byte*)(e.HostAddend + (nint)address), size, value);
            Unsafe.SkipInit(out fault);
            return true;
        }
        return WriteSlow(address, size, value, false, out fault);
    }

    // ---- translation -----------------------------------------------------------------------

    /// <summary>
    /// Translates <paramref name="linear"/> for an access of <paramref name="kind"/> at the current
    /// CPL, with the side effects of an access (A/D bits, TLB fill) but without touching the byte.
    /// The dispatcher uses it to key fragments by physical address and to find pages to watch.
    /// </summary>
    public bool Translate(ulong linear, AccessKind kind, out ulong physical, out GuestFault fault) =>
        Translate(linear, kind, _state.Cpl == 3, out physical, out fault);

    /// <summary>As <see cref="Translate(ulong, AccessKind, out ulong, out GuestFault)"/> with an explicit privilege.</summary>
    public bool Translate(ulong linear, AccessKind kind, bool user, out ulong physical, out GuestFault fault)
    {
        fault = default;
        var sys = _state.Sys;
        if (!sys.Paging)
        {
            physical = linear;
            FillIdentity(linear, user);
            return true;
        }
        if (!IsCanonical(linear))
        {
            physical = 0;
            fault = GuestFault.GeneralProtection();
            return false;
        }
        ulong page = linear & PageMask;
        ref TlbEntry e = ref Entry(user ? _user : _supervisor, linear);
        ulong tag = kind switch { AccessKind.Write => e.WriteTag, AccessKind.Execute => e.FetchTag, _ => e.ReadTag };
        if ((tag & TlbTag.Invalid) == 0 && (tag & PageMask) == page)
        {
            if ((tag & TlbTag.CodeWatched) != 0 && !_physical.IsCodePageWatched(e.PhysicalPage))
                e.WriteTag &= ~TlbTag.CodeWatched;
            physical = e.PhysicalPage | (linear & 0xFFF);
            return true;
        }
        if (!PageWalker.Walk(_physical, sys.Cr3, linear, kind, user, (sys.Cr0 & ControlBits.Cr0WP) != 0,
                (sys.Efer & ControlBits.EferNXE) != 0, out var t, out uint error))
        {
            physical = 0;
            fault = GuestFault.PageFault(linear, error);
            return false;
        }
        Fill(ref e, page, t, user, (sys.Cr0 & ControlBits.Cr0WP) != 0, t.Global && (sys.Cr4 & ControlBits.Cr4PGE) != 0);
        physical = t.PhysicalAddress;
        return true;
    }

    private void Fill(ref TlbEntry e, ulong linearPage, in PageTranslation t, bool user, bool writeProtect, bool global)
    {
        _tlb.NoteFill(linearPage, user, global);
        ulong physicalPage = t.PhysicalAddress & PageMask;
        bool ram = IsPlainRam(physicalPage);
        ulong flags = ram ? 0 : TlbTag.Mmio;
        bool read = !user || t.User;
        bool write = user ? t.User && t.Writable : t.Writable || !writeProtect;
        bool fetch = read && !t.NoExecute;
        e.ReadTag = read ? linearPage | flags : TlbTag.Invalid;
        e.WriteTag = write && t.Dirty
            ? linearPage | flags | (_physical.IsCodePageWatched(physicalPage) ? TlbTag.CodeWatched : 0)
            : TlbTag.Invalid;
        e.FetchTag = fetch ? linearPage | flags : TlbTag.Invalid;
        e.PhysicalPage = physicalPage;
        e.LinearPage = linearPage;
        e.GuestPageMask = t.PageMask;
        e.HostAddend = ram ? (nint)(_ram + physicalPage) - (nint)linearPage : 0;
        e.Global = global ? 1UL : 0;
        if (t.PageMask != 0xFFF) _tlb.NoteLargePage(linearPage, t.PageMask, global);
    }

    private void FillIdentity(ulong linear, bool user)
    {
        var t = new PageTranslation { PhysicalAddress = linear, PageMask = 0xFFF, Writable = true, User = true, Dirty = true };
        Fill(ref Entry(user ? _user : _supervisor, linear), linear & PageMask, t, user, false, false);
    }

    private bool IsPlainRam(ulong physicalPage) =>
        physicalPage < _physical.RamSize && !_physical.IsMmio(physicalPage) && physicalPage - _localBase >= _localLength;

    // ---- slow paths --------------------------------------------------------------------------

    private bool ReadSlow(ulong address, int size, bool user, out ulong value, out GuestFault fault)
    {
        Debug.Assert(size is 1 or 2 or 4 or 8, "access sizes are 1, 2, 4 or 8 bytes");
        value = 0;
        ulong last = address + (ulong)(size - 1);
        if (((address ^ last) & PageMask) == 0)
        {
            if (!Translate(address, AccessKind.Read, user, out ulong physical, out fault)) return false;
            value = PhysicalRead(physical, size);
            return true;
        }
        ulong second = last & PageMask;
        if (!Translate(address, AccessKind.Read, user, out ulong p1, out fault)) return false;
        if (!Translate(second, AccessKind.Read, user, out ulong p2, out fault)) return false;
        int first = (int)(second - address);
        for (int i = 0; i < size; i++)
            value |= PhysicalRead(i < first ? p1 + (ulong)i : p2 + (ulong)(i - first), 1) << (8 * i);
        return true;
    }

    private bool WriteSlow(ulong address, int size, ulong value, bool user, out GuestFault fault)
    {
        Debug.Assert(size is 1 or 2 or 4 or 8, "access sizes are 1, 2, 4 or 8 bytes");
        ulong last = address + (ulong)(size - 1);
        if (((address ^ last) & PageMask) == 0)
        {
            if (!Translate(address, AccessKind.Write, user, out ulong physical, out fault)) return false;
            _notifyingWrite = true;
            _physical.NotifyIfWatched(physical, size, _state);
            _notifyingWrite = false;
            if (_writeCancelled) return Cancelled(out fault);
            PhysicalWrite(physical, size, value);
            return true;
        }
        ulong second = last & PageMask;
        if (!Translate(address, AccessKind.Write, user, out ulong p1, out fault)) return false;
        if (!Translate(second, AccessKind.Write, user, out ulong p2, out fault)) return false;
        int first = (int)(second - address);
        _notifyingWrite = true;
        _physical.NotifyIfWatched(p1, first, _state);
        _physical.NotifyIfWatched(p2, size - first, _state);
        _notifyingWrite = false;
        if (_writeCancelled) return Cancelled(out fault);
        for (int i = 0; i < size; i++)
            PhysicalWrite(i < first ? p1 + (ulong)i : p2 + (ulong)(i - first), 1, value >> (8 * i));
        return true;
    }

    private bool Cancelled(out GuestFault fault)
    {
        _writeCancelled = false;
        fault = default;
        return false;
    }

    /// <summary>A physical read inside one page, as this vCPU sees physical memory (local APIC first).</summary>
    private ulong PhysicalRead(ulong physical, int size)
    {
        if (physical - _localBase < _localLength)
            return _local!.Read(physical - _localBase, size) & PhysicalMemory.SizeMask(size);
        return _physical.ReadInPage(physical, size);
    }

    private void PhysicalWrite(ulong physical, int size, ulong value)
    {
        if (physical - _localBase < _localLength)
        {
            _local!.Write(physical - _localBase, size, value & PhysicalMemory.SizeMask(size));
            return;
        }
        _physical.WriteInPage(physical, size, value);
    }

    // ---- helpers -----------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref TlbEntry Entry(TlbEntry[] entries, ulong address) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(entries), (nint)((address >> 12) & SoftTlb.IndexMask));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Load(byte* p, int size) => size switch
    {
        1 => *p,
        2 => Unsafe.ReadUnaligned<ushort>(p),
        4 => Unsafe.ReadUnaligned<uint>(p),
        _ => Unsafe.ReadUnaligned<ulong>(p),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(byte* p, int size, ulong value)
    {
        switch (size)
        {
            case 1: *p = (byte)value; break;
            case 2: Unsafe.WriteUnaligned(p, (ushort)value); break;
            case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
            default: Unsafe.WriteUnaligned(p, value); break;
        }
    }
}
