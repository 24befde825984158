using System.Runtime.CompilerServices;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// One vCPU's indirect-branch lookup table: the fragment an indirect jump, call or return last
/// reached at a guest RIP, direct-mapped by RIP. A hit must also match the target's physical
/// address (the caller translates RIP) and CPL and be a live fragment; a miss goes to the
/// dispatcher's full lookup, which refills the entry.
/// </summary>
/// <remarks>Not thread-safe (per vCPU). Lookups allocate nothing.</remarks>
public sealed class IndirectBranchTable
{
    private const int Size = 4096;
    private readonly Fragment?[] _entries = new Fragment?[Size];

    /// <summary>Lookups answered by the table.</summary>
    public long Hits { get; private set; }

    /// <summary>Lookups that went to the dispatcher.</summary>
    public long Misses { get; private set; }

    /// <summary>The live fragment for (<paramref name="rip"/>, <paramref name="physicalAddress"/>, <paramref name="cpl"/>), or null (counted as a miss).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Fragment? Lookup(ulong rip, ulong physicalAddress, int cpl)
    {
        var f = _entries[Slot(rip)];
        if (f is not null && f.Rip == rip && f.PhysicalAddress == physicalAddress && f.Cpl == cpl && f.IsValid)
        {
            Hits++;
            return f;
        }
        Misses++;
        return null;
    }

    /// <summary>
    /// The live fragment at (<paramref name="rip"/>, <paramref name="cpl"/>) whose translation was
    /// checked at translation generation <paramref name="generation"/>, so the caller need not
    /// translate RIP (counted as a hit), or null (not counted: the caller goes on to <see cref="Lookup"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Fragment? LookupChecked(ulong rip, int cpl, ulong generation)
    {
        var f = PeekChecked(rip, cpl, generation);
        if (f is not null) Hits++;
        return f;
    }

    /// <summary>As <see cref="LookupChecked"/>, but counts nothing: the caller counts a hit with <see cref="CountHit"/> if it uses the answer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Fragment? PeekChecked(ulong rip, int cpl, ulong generation)
    {
        var f = _entries[Slot(rip)];
        return f is not null && f.Rip == rip && f.IsCheckedAt(cpl, generation) ? f : null;
    }

    /// <summary>Counts a hit found with <see cref="PeekChecked"/>.</summary>
    public void CountHit() => Hits++;

    /// <summary>Remembers <paramref name="fragment"/> as the target at its RIP.</summary>
    public void Insert(Fragment fragment) => _entries[Slot(fragment.Rip)] = fragment;

    /// <summary>Forgets every entry (a cache flush; dead entries would fail the check anyway, this frees them).</summary>
    public void Clear() => Array.Clear(_entries);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Slot(ulong rip) => (int)(rip ^ (rip >> 11)) & (Size - 1);
}
