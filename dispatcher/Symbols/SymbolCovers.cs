namespace Drk.Dispatcher.Symbols;

/// <summary>The address ranges symbols cover, sorted by start, as parallel arrays; <see cref="SymbolTable"/> builds them.</summary>
internal readonly record struct SymbolCovers(ulong[] Starts, ulong[] Ends, string[] Names, bool[] IsFunction)
{
    /// <summary>True when a sized function covers <paramref name="address"/>. Only used while building, so a backward scan is fine.</summary>
    public bool CoversWithFunction(ulong address)
    {
        for (var i = DwarfLineTable.LastAtOrBelow(Starts, address); i >= 0; i--)
            if (IsFunction[i] && Ends[i] > address)
                return true;
        return false;
    }
}
