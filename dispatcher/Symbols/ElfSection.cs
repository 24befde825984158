namespace Drk.Dispatcher.Symbols;

/// <summary>One ELF64 section header, with its name resolved from the section-name string table.</summary>
public readonly record struct ElfSection(
    int Index, string Name, uint Type, ulong Flags, ulong Address, ulong Offset, ulong Size,
    uint Link, uint Info, ulong EntrySize)
{
    /// <summary>SHT_NULL.</summary>
    public const uint TypeNull = 0;
    /// <summary>SHT_SYMTAB.</summary>
    public const uint TypeSymbolTable = 2;
    /// <summary>SHT_RELA.</summary>
    public const uint TypeRela = 4;
    /// <summary>SHT_NOBITS (.bss): occupies no bytes in the file.</summary>
    public const uint TypeNoBits = 8;
    /// <summary>SHT_DYNSYM.</summary>
    public const uint TypeDynamicSymbolTable = 11;

    /// <summary>SHF_ALLOC: the section occupies memory when the object is loaded.</summary>
    public const ulong FlagAlloc = 0x2;
    /// <summary>SHF_EXECINSTR: the section holds code.</summary>
    public const ulong FlagExecute = 0x4;

    /// <summary>True when the section is loaded into memory.</summary>
    public bool IsAllocated => (Flags & FlagAlloc) != 0;

    /// <summary>True when the section holds code.</summary>
    public bool IsExecutable => (Flags & FlagExecute) != 0;

    /// <summary>True when the section has bytes in the file.</summary>
    public bool HasFileData => Type != TypeNoBits && Type != TypeNull;
}
