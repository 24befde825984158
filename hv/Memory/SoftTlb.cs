namespace Drk.Hv.Memory;

/// <summary>
/// A vCPU's software TLB: direct-mapped, one array for supervisor accesses and one for user
/// accesses (so CPL changes need no flush), indexed by linear page number.
/// </summary>
/// <remarks>
/// Entries cache 4 KiB pieces of guest pages. Flushing is explicit: the MMU's owner flushes on
/// CR3 writes, paging-mode changes (CR0.PG/WP, CR4, EFER.NXE) and INVLPG, exactly where the
/// architecture lets a real TLB keep stale entries until then.
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

    /// <summary>Notes that the entry of <paramref name="linear"/> in the user or supervisor array is being (re)filled.</summary>
    internal void NoteFill(ulong linear, bool user)
    {
        Generation++;
        if (_filledCount < FilledCapacity) _filled[_filledCount++] = (int)((linear >> 12) & IndexMask) + (user ? EntryCount : 0);
        else _filledCount = FilledCapacity + 1; // too many to list: the next flush rewrites all
    }

    /// <summary>Drops every entry.</summary>
    public void FlushAll()
    {
        Generation++;
        var empty = new TlbEntry
        {
            ReadTag = TlbTag.Invalid, WriteTag = TlbTag.Invalid, FetchTag = TlbTag.Invalid,
            LinearPage = ulong.MaxValue, GuestPageMask = 0xFFF,
        };
        if (_filledCount <= FilledCapacity)
        {
            // Only entries filled since the last flush can hold anything.
            for (int i = 0; i < _filledCount; i++)
            {
                int slot = _filled[i];
                if (slot < EntryCount) Supervisor[slot] = empty;
                else User[slot - EntryCount] = empty;
            }
        }
        else
        {
            Array.Fill(Supervisor, empty);
            Array.Fill(User, empty);
        }
        _filledCount = 0;
        _holdsLargePages = false;
    }

    /// <summary>
    /// Drops the translations of the guest page holding <paramref name="linear"/>; when that page
    /// is a 2 MiB or 1 GiB page, every 4 KiB piece of it cached anywhere in the TLB.
    /// </summary>
    public void FlushPage(ulong linear)
    {
        Generation++;
        if (!_holdsLargePages)
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

    internal void NoteLargePage() => _holdsLargePages = true;
}
