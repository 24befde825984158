namespace Drk.Dispatcher.Symbols;

/// <summary>
/// An immutable snapshot of the loaded modules with all their section ranges merged into one
/// sorted array, so finding the module of an address is one binary search whatever the number
/// of modules (their sections interleave in the kernel heap).
/// </summary>
internal sealed class ModuleSet
{
    private readonly ulong[] starts;
    private readonly SectionRange[] ranges;
    private readonly ModuleSymbols[] owners;

    public ModuleSet(ModuleSymbols[] modules)
    {
        Modules = modules;
        var all = new List<(SectionRange Range, ModuleSymbols Owner)>();
        foreach (var module in modules)
            foreach (var range in module.Ranges)
                all.Add((range, module));
        all.Sort((a, b) => a.Range.Start.CompareTo(b.Range.Start));
        starts = new ulong[all.Count];
        ranges = new SectionRange[all.Count];
        owners = new ModuleSymbols[all.Count];
        for (var i = 0; i < all.Count; i++)
            (starts[i], ranges[i], owners[i]) = (all[i].Range.Start, all[i].Range, all[i].Owner);
    }

    public static ModuleSet Empty { get; } = new([]);

    public ModuleSymbols[] Modules { get; }

    /// <summary>The module and section containing <paramref name="address"/>. Ranges never overlap: the symbolizer drops stale modules.</summary>
    public bool TryFind(ulong address, out ModuleSymbols module, out SectionRange range)
    {
        var i = DwarfLineTable.LastAtOrBelow(starts, address);
        if (i >= 0 && ranges[i].Contains(address))
        {
            module = owners[i];
            range = ranges[i];
            return true;
        }
        module = null!;
        range = default;
        return false;
    }
}
