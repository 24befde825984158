using System.Buffers.Binary;

namespace Drk.Dispatcher.Symbols;

/// <summary>
/// Applies a relocatable object's RELA entries to a copy of one of its non-loaded sections
/// (.debug_line), with the object's sections placed where the kernel's module loader put them.
/// Only the forms gcc emits into debug sections are supported: R_X86_64_64 (addresses) and
/// R_X86_64_32 (offsets into .debug_line_str/.debug_str).
/// </summary>
public static class ElfRelocator
{
    private const uint RelocationNone = 0;
    private const uint Relocation64 = 1;
    private const uint Relocation32 = 10;
    private const int RelaSize = 24;

    /// <summary>
    /// A copy of section <paramref name="target"/> with its relocations applied. A symbol's value
    /// is <c>sectionAddresses[st_shndx] + st_value</c>; sections the loader did not place (debug
    /// sections, address 0) stay at 0, so offsets into other debug sections come out right.
    /// </summary>
    /// <exception cref="SymbolFileException">A relocation is malformed, out of the section, or of an unsupported type.</exception>
    public static byte[] RelocatedSection(ElfImage image, int target, ReadOnlySpan<ulong> sectionAddresses)
    {
        var data = image.SectionData(target).ToArray();
        if (image.FindRelocationsFor(target) is not { } rela)
            return data;

        var where = $"relocations [{rela.Index}] {rela.Name}";
        if (rela.EntrySize != RelaSize || rela.Size % RelaSize != 0)
            throw new SymbolFileException($"{where}: entry size {rela.EntrySize} and size {rela.Size} do not describe {RelaSize}-byte RELA entries");
        if (rela.Link >= image.Sections.Count || image.Sections[(int)rela.Link].Type != ElfSection.TypeSymbolTable)
            throw new SymbolFileException($"{where}: link {rela.Link} is not a symbol table");
        var symbols = image.ReadSymbols((int)rela.Link);
        var entries = image.SectionData(rela.Index);

        for (var i = 0; i < entries.Length / RelaSize; i++)
        {
            var entry = entries.Slice(i * RelaSize, RelaSize);
            var offset = BinaryPrimitives.ReadUInt64LittleEndian(entry);
            var info = BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]);
            var addend = BinaryPrimitives.ReadInt64LittleEndian(entry[16..]);
            var type = (uint)info;
            var symbolIndex = info >> 32;
            if (type == RelocationNone)
                continue;
            if (symbolIndex >= (ulong)symbols.Length)
                throw new SymbolFileException($"{where}: entry {i} names symbol {symbolIndex}, the table has {symbols.Length}");

            var value = unchecked(SymbolValue(symbols[symbolIndex], sectionAddresses, where, i) + (ulong)addend);
            var width = type switch
            {
                Relocation64 => 8,
                Relocation32 => 4,
                _ => throw new SymbolFileException($"{where}: entry {i} has relocation type {type}; only R_X86_64_64 and R_X86_64_32 are supported in debug sections"),
            };
            if (offset > (ulong)data.Length || (ulong)width > (ulong)data.Length - offset)
                throw new SymbolFileException($"{where}: entry {i} patches offset 0x{offset:x}, outside the 0x{data.Length:x} bytes of the section");
            if (width == 8)
                BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan((int)offset), value);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan((int)offset), (uint)value);
        }
        return data;
    }

    private static ulong SymbolValue(in ElfSymbol symbol, ReadOnlySpan<ulong> sectionAddresses, string where, int entry)
    {
        if (symbol.SectionIndex == ElfSymbol.SectionAbsolute)
            return symbol.Value;
        if (!symbol.IsInSection)
            throw new SymbolFileException($"{where}: entry {entry} refers to symbol '{symbol.Name}', which is not defined in a section of the object");
        var baseAddress = symbol.SectionIndex < sectionAddresses.Length ? sectionAddresses[symbol.SectionIndex] : 0;
        return unchecked(baseAddress + symbol.Value);
    }
}
