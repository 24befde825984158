namespace Drk.Dispatcher.Symbols;

/// <summary>One entry of an ELF symbol table as stored in the file: the value is section-relative in a relocatable object.</summary>
public readonly record struct ElfSymbol(
    int Index, string Name, ulong Value, ulong Size, ElfSymbolType Type, ElfSymbolBinding Binding, ushort SectionIndex)
{
    /// <summary>SHN_UNDEF: the symbol is defined elsewhere.</summary>
    public const ushort SectionUndefined = 0;
    /// <summary>SHN_LORESERVE: indices from here on are special (ABS, COMMON, XINDEX), not sections.</summary>
    public const ushort SectionReservedStart = 0xff00;
    /// <summary>SHN_ABS: the value is an absolute number, not an address in a section.</summary>
    public const ushort SectionAbsolute = 0xfff1;

    /// <summary>True when the symbol is defined in a real section of this object.</summary>
    public bool IsInSection => SectionIndex != SectionUndefined && SectionIndex < SectionReservedStart;
}
