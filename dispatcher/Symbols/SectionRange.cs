namespace Drk.Dispatcher.Symbols;

/// <summary>One loaded section of the kernel or a module: [Start, End) at run time, and whether it holds code.</summary>
public readonly record struct SectionRange(ulong Start, ulong End, bool IsExecutable, string Section)
{
    /// <summary>True when <paramref name="address"/> lies in the range.</summary>
    public bool Contains(ulong address) => address >= Start && address < End;
}
