namespace Drk.Dispatcher.Symbols;

/// <summary>
/// The symbols of one object at their run-time addresses, indexed two ways: by address (which
/// symbol covers an address: a binary search, no allocation) and by name.
/// </summary>
/// <remarks>
/// A symbol with a size covers [address, address + size). A zero-size label in a code section
/// (assembly entry points, which often carry no .size) covers up to the next symbol or the end
/// of its section, unless a sized function already covers it: inline-assembly labels inside a
/// C function do not hide the function. Where several symbols cover an address the innermost
/// (latest start) wins; at one start a sized symbol beats a label, a function beats a variable,
/// and among aliases the first in the symbol table wins (gcc writes the local name, e.g.
/// good_init, before a global alias such as init_module).
/// </remarks>
public sealed class SymbolTable
{
    private readonly LoadedSymbol[] symbols;
    private readonly ulong[] starts;
    private readonly ulong[] ends;
    private readonly ulong[] maximumEnds;
    private readonly string[] names;
    private readonly Dictionary<string, ulong> addressesByName;

    private SymbolTable(LoadedSymbol[] symbols, ulong[] starts, ulong[] ends, string[] names, Dictionary<string, ulong> addressesByName)
    {
        this.symbols = symbols;
        this.starts = starts;
        this.ends = ends;
        this.names = names;
        this.addressesByName = addressesByName;
        maximumEnds = new ulong[ends.Length];
        ulong running = 0;
        for (var i = 0; i < ends.Length; i++)
            maximumEnds[i] = running = Math.Max(running, ends[i]);
    }

    /// <summary>Every function, variable and label defined in a loaded section, by address.</summary>
    public IReadOnlyList<LoadedSymbol> Symbols => symbols;

    /// <summary>
    /// Builds the table of <paramref name="image"/>. For a relocatable object a symbol is at
    /// <c>sectionAddresses[st_shndx] + st_value</c> and symbols of sections at 0 (not loaded) are
    /// left out; for an executable <paramref name="sectionAddresses"/> is ignored.
    /// </summary>
    /// <exception cref="SymbolFileException">The symbol table is malformed.</exception>
    public static SymbolTable Build(ElfImage image, ReadOnlySpan<ulong> sectionAddresses)
    {
        var raw = image.ReadSymbols();
        var loaded = new List<(LoadedSymbol Symbol, int Order, ulong SectionEnd, bool InCode)>();
        foreach (var symbol in raw)
        {
            if (symbol.Name.Length == 0 || !symbol.IsInSection || symbol.SectionIndex >= image.Sections.Count)
                continue;
            if (symbol.Type is not (ElfSymbolType.Function or ElfSymbolType.Object or ElfSymbolType.NoType))
                continue;
            var section = image.Sections[symbol.SectionIndex];
            ulong sectionStart;
            if (image.IsRelocatable)
            {
                sectionStart = symbol.SectionIndex < sectionAddresses.Length ? sectionAddresses[symbol.SectionIndex] : 0;
                if (sectionStart == 0)
                    continue;
            }
            else
            {
                if (!section.IsAllocated)
                    continue;
                sectionStart = section.Address;
            }
            var address = image.IsRelocatable ? unchecked(sectionStart + symbol.Value) : symbol.Value;
            loaded.Add((new LoadedSymbol(symbol.Name, address, symbol.Size, symbol.Type, symbol.Binding),
                        symbol.Index, unchecked(sectionStart + section.Size), section.IsExecutable));
        }

        loaded.Sort((a, b) => a.Symbol.Address != b.Symbol.Address ? a.Symbol.Address.CompareTo(b.Symbol.Address) : a.Order.CompareTo(b.Order));
        var all = new LoadedSymbol[loaded.Count];
        for (var i = 0; i < all.Length; i++)
            all[i] = loaded[i].Symbol;

        var covers = new List<(ulong Start, ulong End, int Rank, int Order, string Name)>();
        foreach (var (symbol, order, _, _) in loaded)
            if (symbol.Size > 0 && symbol.Address + symbol.Size > symbol.Address)
                covers.Add((symbol.Address, symbol.Address + symbol.Size, Rank(symbol), order, symbol.Name));
        var sized = Sorted(covers);

        for (var i = 0; i < loaded.Count; i++)
        {
            var (symbol, order, sectionEnd, inCode) = loaded[i];
            if (symbol.Size != 0 || !inCode || symbol.Type == ElfSymbolType.Object || sized.CoversWithFunction(symbol.Address))
                continue;
            var end = sectionEnd;
            for (var j = i + 1; j < loaded.Count; j++)
                if (loaded[j].Symbol.Address > symbol.Address)
                {
                    end = Math.Min(end, loaded[j].Symbol.Address);
                    break;
                }
            if (end > symbol.Address)
                covers.Add((symbol.Address, end, Rank(symbol), order, symbol.Name));
        }
        var table = Sorted(covers);

        var byName = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var bindingOfName = new Dictionary<string, ElfSymbolBinding>(StringComparer.Ordinal);
        loaded.Sort((a, b) => a.Order.CompareTo(b.Order));
        foreach (var (symbol, _, _, _) in loaded)
        {
            // A global definition beats a weak one, which beats a file-local one; otherwise the first stays.
            if (bindingOfName.TryGetValue(symbol.Name, out var existing) && BindingStrength(existing) >= BindingStrength(symbol.Binding))
                continue;
            byName[symbol.Name] = symbol.Address;
            bindingOfName[symbol.Name] = symbol.Binding;
        }

        return new SymbolTable(all, table.Starts, table.Ends, table.Names, byName);
    }

    /// <summary>The symbol covering <paramref name="address"/>: its name and start. Allocation-free.</summary>
    public bool TryFind(ulong address, out string name, out ulong start)
    {
        var i = DwarfLineTable.LastAtOrBelow(starts, address);
        for (; i >= 0 && maximumEnds[i] > address; i--)
        {
            if (ends[i] > address)
            {
                name = names[i];
                start = starts[i];
                return true;
            }
        }
        name = "";
        start = 0;
        return false;
    }

    /// <summary>The address of the symbol called <paramref name="name"/> (a global definition preferred over a local one).</summary>
    public bool TryFindAddress(string name, out ulong address) => addressesByName.TryGetValue(name, out address);

    // Sorted by start; at one start the preferred entry comes last, because lookups walk backwards.
    private static int Rank(in LoadedSymbol symbol) =>
        (symbol.Size > 0 ? 4 : 0) + symbol.Type switch { ElfSymbolType.Function => 2, ElfSymbolType.Object => 1, _ => 0 };

    private static int BindingStrength(ElfSymbolBinding binding) => binding switch
    {
        ElfSymbolBinding.Global => 2,
        ElfSymbolBinding.Weak => 1,
        _ => 0,
    };

    private static SymbolCovers Sorted(List<(ulong Start, ulong End, int Rank, int Order, string Name)> covers)
    {
        var copy = covers.ToArray();
        Array.Sort(copy, (a, b) =>
            a.Start != b.Start ? a.Start.CompareTo(b.Start)
            : a.Rank != b.Rank ? a.Rank.CompareTo(b.Rank)
            : b.Order.CompareTo(a.Order));
        var result = new SymbolCovers(new ulong[copy.Length], new ulong[copy.Length], new string[copy.Length], new bool[copy.Length]);
        for (var i = 0; i < copy.Length; i++)
        {
            result.Starts[i] = copy[i].Start;
            result.Ends[i] = copy[i].End;
            result.Names[i] = copy[i].Name;
            result.IsFunction[i] = (copy[i].Rank & 2) != 0;
        }
        return result;
    }
}
