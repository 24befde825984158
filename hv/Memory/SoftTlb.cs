namespace Drk.Hv.Memory;

/// <summary>
/// A vCPU's software TLB: direct-mapped, one array for supervisor accesses and one for user
/// accesses (so CPL changes need no flush), indexed by linear page number.
/// </summary>
/// <remarks>
/// Entries cache 4 KiB pieces of guest pages. Flushing is explicit: the MMU's owner flushes on
/// CR3 writes, paging-mode changes (CR0.PG/WP, CR4, EFER.NXE) and INVLPG, exactly where the
/// architecture lets a real TLB keep stale entries until then. A CR3 write keeps global
/// translations (the G bit under CR4.PGE, <see cref="FlushNonGlobal"/>), as a processor does, so
/// a kernel that marks its own mappings global does not refill them after every address-space
/// switch; everything else drops them too.
/// </remarks>
public sealed class SoftTlb
{
    /// <summary>Entries per privilege class.</summary>
    public const int EntryCount = 1024;
    internal const ulong IndexMask = EntryCount - 1;

    // Pinned (never moved by the GC) so that code generated for this vCPU can address entries
    // directly: see TlbFastPath.
    internal readonly TlbEntry[] Supervisor = GC.AllocateArray<TlbEntry>(EntryCount, pinned: true);
    internal readonly TlbEntry[] User = GC.AllocateArray<TlbEntry>(EntryCount, pinned: true);
    private bool _holdsLargePages;

    public SoftTlb() => FlushAll();

    /// <summary>
    /// Counts changes to the cached translations: every fill, page flush and full flush adds one.
    /// While it stays the same, translating a linear address through this TLB gives the answer it
    /// gave before, so a caller that checked a translation at some generation may skip checking it
    /// again (the dispatcher's links, indirect-branch table and trace entries do). Write-permission
    /// revocation for watched code pages does not count: it changes no fetch or read translation.
    /// </summary>
    public ulong Generation { get; private set; }

    // The entries filled since the last full flush (index, plus EntryCount for the user array), so
    // a flush (every CR3 write) invalidates those instead of rewriting all 2 x 1024 entries; past
    // FilledCapacity fills the flush rewrites everything.
    private const int FilledCapacity = 256;
    private readonly int[] _filled = new int[FilledCapacity];
    private int _filledCount = FilledCapacity + 1; // the first flush (the constructor's) rewrites all

    // Global entries are not listed (a CR3 write keeps them), so whether any may be cached, and
    // the linear range of the large global pages that pieces may be cached of (an INVLPG inside
    // it must look for those pieces among all entries).
    private bool _holdsGlobal;
    private ulong _globalLargeLow = ulong.MaxValue, _globalLargeHigh;

    private static readonly TlbEntry Empty = new()
    {
        ReadTag = TlbTag.Invalid, WriteTag = TlbTag.Invalid, FetchTag = TlbTag.Invalid,
        LinearPage = ulong.MaxValue, GuestPageMask = 0xFFF,
    };

    /// <summary>Notes that the entry of <paramref name="linear"/> in the user or supervisor array is being (re)filled, with a global translation or not.</summary>
    internal void NoteFill(ulong linear, bool user, bool global)
    {
        Generation++;
        if (global)
        {
            // Not listed: a CR3 write keeps it. (Listed slots a global entry later took are
            // emptied anyway at the next flush, which only costs a refill.)
            _holdsGlobal = true;
            return;
        }
        if (_filledCount < FilledCapacity) _filled[_filledCount++] = (int)((linear >> 12) & IndexMask) + (user ? EntryCount : 0);
        else _filledCount = FilledCapacity + 1; // too many to list: the next flush rewrites all
    }

    /// <summary>Drops every entry, global ones included (paging-mode changes, a CR4.PGE toggle).</summary>
    public void FlushAll()
    {
        Generation++;
        if (_filledCount <= FilledCapacity && !_holdsGlobal) EmptyListed();
        else
        {
            Array.Fill(Supervisor, Empty);
            Array.Fill(User, Empty);
        }
        _filledCount = 0;
        _holdsLargePages = false;
        _holdsGlobal = false;
        _globalLargeLow = ulong.MaxValue;
        _globalLargeHigh = 0;
    }

    /// <summary>Drops every entry but the global ones: what a CR3 write does.</summary>
    public void FlushNonGlobal()
    {
        if (!_holdsGlobal)
        {
            FlushAll();
            return;
        }
        Generation++;
        if (_filledCount <= FilledCapacity) EmptyListed();
        else
        {
            EmptyNonGlobal(Supervisor);
            EmptyNonGlobal(User);
        }
        _filledCount = 0;
        _holdsLargePages = false;
    }

    // Only entries listed since the last flush can hold a non-global translation.
    private void EmptyListed()
    {
        for (int i = 0; i < _filledCount; i++)
        {
            int slot = _filled[i];
            if (slot < EntryCount) Supervisor[slot] = Empty;
            else User[slot - EntryCount] = Empty;
        }
    }

    private static void EmptyNonGlobal(TlbEntry[] entries)
    {
        for (int i = 0; i < entries.Length; i++)
            if (entries[i].Global == 0) entries[i] = Empty;
    }

    /// <summary>
    /// Drops the translations of the guest page holding <paramref name="linear"/>; when that page
    /// is a 2 MiB or 1 GiB page, every 4 KiB piece of it cached anywhere in the TLB.
    /// </summary>
    public void FlushPage(ulong linear)
    {
        Generation++;
        if (!_holdsLargePages && (linear < _globalLargeLow || linear > _globalLargeHigh))
        {
            int index = (int)((linear >> 12) & IndexMask);
            Invalidate(ref Supervisor[index]);
            Invalidate(ref User[index]);
            return;
        }
        FlushMatching(Supervisor, linear);
        FlushMatching(User, linear);
    }

    private static void FlushMatching(TlbEntry[] entries, ulong linear)
    {
        for (int i = 0; i < entries.Length; i++)
        {
            ref var e = ref entries[i];
            if (((e.LinearPage ^ linear) & ~e.GuestPageMask) == 0 || ((e.LinearPage ^ linear) & ~0xFFFUL) == 0)
                Invalidate(ref e);
        }
    }

    private static void Invalidate(ref TlbEntry e)
    {
        e.ReadTag = TlbTag.Invalid;
        e.WriteTag = TlbTag.Invalid;
        e.FetchTag = TlbTag.Invalid;
    }

    /// <summary>Marks fast-path writes to <paramref name="physicalPage"/> as needing the slow path (code watch).</summary>
    internal void RevokeWrites(ulong physicalPage)
    {
        RevokeWrites(Supervisor, physicalPage);
        RevokeWrites(User, physicalPage);
    }

    private static void RevokeWrites(TlbEntry[] entries, ulong physicalPage)
    {
        for (int i = 0; i < entries.Length; i++)
        {
            ref var e = ref entries[i];
            if (e.PhysicalPage == physicalPage && (e.WriteTag & TlbTag.Invalid) == 0)
                e.WriteTag |= TlbTag.CodeWatched;
        }
    }

    /// <summary>Notes that a piece of the large guest page <paramref name="linear"/> lies in (<paramref name="guestPageMask"/>: its size minus one) is being cached.</summary>
    internal void NoteLargePage(ulong linear, ulong guestPageMask, bool global)
    {
        if (!global)
        {
            _holdsLargePages = true;
            return;
        }
        _globalLargeLow = Math.Min(_globalLargeLow, linear & ~guestPageMask);
        _globalLargeHigh = Math.Max(_globalLargeHigh, linear | guestPageMask);
    }
}
