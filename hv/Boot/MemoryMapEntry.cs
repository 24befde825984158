namespace Drk.Hv.Boot;

/// <summary>One hvm_memmap_table_entry: a physical range and its type.</summary>
public readonly record struct MemoryMapEntry(ulong Address, ulong Size, MemoryMapType Type);
