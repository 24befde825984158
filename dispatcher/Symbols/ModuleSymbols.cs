namespace Drk.Dispatcher.Symbols;

/// <summary>
/// What symbolisation knows about the kernel or one loaded module: its name, the address ranges
/// of its loaded sections, its symbols and its line table, all at run-time addresses.
/// </summary>
/// <remarks>
/// The line table is read on first use: tools that never ask for file:line (null, inscount) do
/// not pay for parsing the kernel's DWARF at start-up, which was about a third of a tool's
/// start-up cost.
/// </remarks>
public sealed class ModuleSymbols
{
    /// <summary>The module name used for the kernel in <see cref="SourceLocation.Module"/>.</summary>
    public const string KernelName = "kernel";

    private readonly SectionRange[] ranges;
    private readonly ulong[] rangeStarts;

    private readonly Lazy<(DwarfLineTable Lines, string? Error)> lines;

    private ModuleSymbols(string name, SectionRange[] ranges, SymbolTable symbols, Func<(DwarfLineTable, string?)> readLines)
    {
        Name = name;
        Array.Sort(ranges, (a, b) => a.Start.CompareTo(b.Start));
        this.ranges = ranges;
        rangeStarts = new ulong[ranges.Length];
        for (var i = 0; i < ranges.Length; i++)
            rangeStarts[i] = ranges[i].Start;
        Symbols = symbols;
        lines = new Lazy<(DwarfLineTable, string?)>(readLines, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>"kernel" or the module's name.</summary>
    public string Name { get; }

    /// <summary>The loaded sections, sorted by start address.</summary>
    public IReadOnlyList<SectionRange> Ranges => ranges;

    /// <summary>Functions, variables and labels.</summary>
    public SymbolTable Symbols { get; }

    /// <summary>The DWARF line table; empty without debug information.</summary>
    public DwarfLineTable Lines => lines.Value.Lines;

    /// <summary>Why the line table could not be read (it is then empty), or null.</summary>
    public string? LineError => lines.Value.Error;

    /// <summary>
    /// Reads an executable's symbols and lines at their link addresses. A malformed line table
    /// leaves the object without lines (see <see cref="LineError"/>) rather than without symbols.
    /// </summary>
    /// <exception cref="SymbolFileException">The file is not a well-formed ELF executable.</exception>
    public static ModuleSymbols FromExecutable(string name, ElfImage image)
    {
        if (image.IsRelocatable)
            throw new SymbolFileException($"{name}: a relocatable object (ET_REL) needs its section load addresses");
        var ranges = new List<SectionRange>();
        foreach (var section in image.Sections)
            if (section.IsAllocated && section.Size > 0)
                ranges.Add(new SectionRange(section.Address, section.Address + section.Size, section.IsExecutable, section.Name));
        var symbols = SymbolTable.Build(image, []);
        return new ModuleSymbols(name, ranges.ToArray(), symbols, () => ReadLines(image, []));
    }

    /// <summary>
    /// Reads a relocatable module object placed at <paramref name="sectionAddresses"/> (one entry
    /// per ELF section, 0 for sections not loaded: the kernel's <c>module_desc.section_addrs</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The address array does not have one entry per section.</exception>
    /// <exception cref="SymbolFileException">The file is not a well-formed relocatable ELF object.</exception>
    public static ModuleSymbols FromRelocatable(string name, ElfImage image, ReadOnlySpan<ulong> sectionAddresses)
    {
        if (!image.IsRelocatable)
            throw new SymbolFileException($"{name}: ELF type {image.FileType} is not a relocatable object (ET_REL)");
        if (sectionAddresses.Length != image.Sections.Count)
            throw new ArgumentException($"{name}: {sectionAddresses.Length} section addresses for an object of {image.Sections.Count} sections", nameof(sectionAddresses));
        var ranges = new List<SectionRange>();
        for (var i = 1; i < image.Sections.Count; i++)
        {
            var section = image.Sections[i];
            if (section.IsAllocated && section.Size > 0 && sectionAddresses[i] != 0)
                ranges.Add(new SectionRange(sectionAddresses[i], sectionAddresses[i] + section.Size, section.IsExecutable, section.Name));
        }
        var symbols = SymbolTable.Build(image, sectionAddresses);
        var addresses = sectionAddresses.ToArray();
        return new ModuleSymbols(name, ranges.ToArray(), symbols, () => ReadLines(image, addresses));
    }

    /// <summary>The loaded section containing <paramref name="address"/>, if any. Allocation-free.</summary>
    public bool TryFindRange(ulong address, out SectionRange range)
    {
        var i = DwarfLineTable.LastAtOrBelow(rangeStarts, address);
        if (i >= 0 && ranges[i].Contains(address))
        {
            range = ranges[i];
            return true;
        }
        range = default;
        return false;
    }

    /// <summary>True when any of this object's ranges intersects any of <paramref name="other"/>'s.</summary>
    public bool Overlaps(ModuleSymbols other)
    {
        foreach (var a in ranges)
            foreach (var b in other.ranges)
                if (a.Start < b.End && b.Start < a.End)
                    return true;
        return false;
    }

    /// <summary>Symbolises an address already known to lie in this object.</summary>
    public SourceLocation Describe(ulong address)
    {
        string? function = null;
        ulong offset = 0;
        if (Symbols.TryFind(address, out var name, out var start))
        {
            function = name;
            offset = address - start;
        }
        return Lines.TryFind(address, out var line)
            ? new SourceLocation(address, Name, function, offset, line.File, line.Line)
            : new SourceLocation(address, Name, function, offset, null, 0);
    }

    private static (DwarfLineTable Lines, string? Error) ReadLines(ElfImage image, ReadOnlySpan<ulong> sectionAddresses)
    {
        try
        {
            return (DwarfLineTable.Read(image, sectionAddresses), null);
        }
        catch (SymbolFileException e)
        {
            // A module's debug sections are not checked by the kernel's loader; a broken one still gets symbols.
            return (DwarfLineTable.Empty, e.Message);
        }
    }
}
