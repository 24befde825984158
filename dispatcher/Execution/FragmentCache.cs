using System.Runtime.CompilerServices;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// One vCPU's code cache: fragments by (RIP, physical address, CPL), a direct-mapped front that
/// answers a loop's lookups with three compares, and an index from physical page to the fragments
/// translated from it, so a write to a code page drops exactly those.
/// </summary>
/// <remarks>Not thread-safe (code caches are CPU-private, as in DRK). Lookups allocate nothing.</remarks>
public sealed class FragmentCache
{
    private const int FrontSize = 4096;

    private readonly Dictionary<FragmentKey, Fragment> _fragments = new();
    private readonly Dictionary<ulong, List<Fragment>> _byPage = new();
    private readonly Fragment?[] _front = new Fragment?[FrontSize];

    /// <summary>Fragments in the cache.</summary>
    public int Count => _fragments.Count;

    /// <summary>Bytes of guest code translated by the fragments in the cache (the measure of <c>--cache-size</c>).</summary>
    public long CodeBytes { get; private set; }

    /// <summary>The most <see cref="CodeBytes"/> seen so far.</summary>
    public long PeakCodeBytes { get; private set; }

    /// <summary>Fragments added so far.</summary>
    public long Added { get; private set; }

    /// <summary>Times the whole cache was dropped (<see cref="Clear"/>), e.g. because it was full.</summary>
    public long Flushes { get; private set; }

    /// <summary>Fragments dropped because their code was written (or the page was flushed) so far.</summary>
    public long Invalidated { get; private set; }

    /// <summary>The fragment for the key, or null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Fragment? Lookup(ulong rip, ulong physicalAddress, int cpl)
    {
        ref Fragment? slot = ref _front[Slot(rip)];
        var f = slot;
        if (f is not null && f.Rip == rip && f.PhysicalAddress == physicalAddress && f.Cpl == cpl) return f;
        return LookupSlow(rip, physicalAddress, cpl, ref slot);
    }

    private Fragment? LookupSlow(ulong rip, ulong physicalAddress, int cpl, ref Fragment? slot)
    {
        if (!_fragments.TryGetValue(new FragmentKey(rip, physicalAddress, cpl), out var f)) return null;
        slot = f;
        return f;
    }

    /// <summary>Adds <paramref name="fragment"/>, replacing (and invalidating) any fragment with the same key.</summary>
    public void Add(Fragment fragment)
    {
        var key = new FragmentKey(fragment.Rip, fragment.PhysicalAddress, fragment.Cpl);
        if (_fragments.TryGetValue(key, out var old)) Remove(old);
        _fragments[key] = fragment;
        fragment.IsCached = true;
        Added++;
        CodeBytes += fragment.Length;
        if (CodeBytes > PeakCodeBytes) PeakCodeBytes = CodeBytes;
        Index(fragment.FirstPage, fragment);
        if (fragment.SpansTwoPages) Index(fragment.SecondPage, fragment);
        _front[Slot(fragment.Rip)] = fragment;
    }

    /// <summary>True when some fragment was translated from physical page <paramref name="page"/>.</summary>
    public bool HasPage(ulong page) => _byPage.ContainsKey(page);

    /// <summary>Drops every fragment translated (partly) from physical page <paramref name="page"/>; returns how many.</summary>
    public int InvalidatePage(ulong page)
    {
        if (!_byPage.Remove(page, out var list)) return 0;
        foreach (var f in list)
        {
            if (!f.IsValid) continue;
            Remove(f);
        }
        return list.Count;
    }

    /// <summary>Drops every fragment.</summary>
    public void Clear()
    {
        foreach (var f in _fragments.Values) f.Invalidate();
        Invalidated += _fragments.Count;
        Flushes++;
        CodeBytes = 0;
        _fragments.Clear();
        _byPage.Clear();
        Array.Clear(_front);
    }

    /// <summary>Every cached fragment (not on hot paths: the dispatcher looks through them when it joins traces).</summary>
    internal Dictionary<FragmentKey, Fragment>.ValueCollection Fragments => _fragments.Values;

    /// <summary>The physical pages that hold cached code (for tests and diagnostics).</summary>
    public IEnumerable<ulong> Pages => _byPage.Keys;

    private void Remove(Fragment f)
    {
        f.Invalidate();
        Invalidated++;
        CodeBytes -= f.Length;
        _fragments.Remove(new FragmentKey(f.Rip, f.PhysicalAddress, f.Cpl));
        ref Fragment? slot = ref _front[Slot(f.Rip)];
        if (ReferenceEquals(slot, f)) slot = null;
        Unindex(f.FirstPage, f);
        if (f.SpansTwoPages) Unindex(f.SecondPage, f);
    }

    private void Index(ulong page, Fragment f)
    {
        if (!_byPage.TryGetValue(page, out var list))
        {
            list = new List<Fragment>();
            _byPage[page] = list;
        }
        list.Add(f);
    }

    private void Unindex(ulong page, Fragment f)
    {
        if (!_byPage.TryGetValue(page, out var list)) return;
        list.Remove(f);
        if (list.Count == 0) _byPage.Remove(page);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Slot(ulong rip) => (int)(rip ^ (rip >> 12)) & (FrontSize - 1);
}
