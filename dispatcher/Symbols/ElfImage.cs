using System.Buffers.Binary;
using System.Text;

namespace Drk.Dispatcher.Symbols;

/// <summary>
/// An ELF64 little-endian x86-64 object held in memory (an executable such as kernel.elf or a
/// relocatable module object): its header, section table and symbol table. Every offset and size
/// is checked against the file when the image is opened, so later reads cannot run off the end.
/// </summary>
/// <remarks>Written for Drk because the package registry these machines reach holds no ELF/DWARF reader.</remarks>
public sealed class ElfImage
{
    /// <summary>ET_REL: a relocatable object (a module).</summary>
    public const ushort TypeRelocatable = 1;
    /// <summary>ET_EXEC: an executable linked at fixed addresses (the kernel).</summary>
    public const ushort TypeExecutable = 2;

    private const int HeaderSize = 64;
    private const int SectionHeaderSize = 64;
    private const int SymbolSize = 24;
    private const ushort MachineX86_64 = 62;
    private const ushort SectionIndexExtended = 0xffff;

    private readonly byte[] bytes;
    private readonly ElfSection[] sections;

    private ElfImage(byte[] bytes, ushort type, ElfSection[] sections)
    {
        this.bytes = bytes;
        FileType = type;
        this.sections = sections;
    }

    /// <summary>e_type: <see cref="TypeExecutable"/>, <see cref="TypeRelocatable"/> or another value.</summary>
    public ushort FileType { get; }

    /// <summary>True for ET_REL, whose symbol values are offsets into sections that are placed at load time.</summary>
    public bool IsRelocatable => FileType == TypeRelocatable;

    /// <summary>The section headers, indexed by section number (entry 0 is the null section).</summary>
    public IReadOnlyList<ElfSection> Sections => sections;

    /// <summary>The whole file.</summary>
    public ReadOnlySpan<byte> Bytes => bytes;

    /// <summary>Opens a copy of <paramref name="file"/> (for example a module image copied out of guest memory).</summary>
    /// <exception cref="SymbolFileException">The bytes are not a well-formed ELF64 little-endian x86-64 object.</exception>
    public static ElfImage Parse(ReadOnlySpan<byte> file) => Parse(file.ToArray());

    /// <summary>Opens <paramref name="file"/> without copying it; the caller must not change the array afterwards.</summary>
    /// <exception cref="SymbolFileException">The bytes are not a well-formed ELF64 little-endian x86-64 object.</exception>
    public static ElfImage Parse(byte[] file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Length < HeaderSize)
            throw new SymbolFileException($"ELF header: the file has {file.Length} bytes, fewer than the {HeaderSize} of an ELF64 header");
        if (file[0] != 0x7f || file[1] != (byte)'E' || file[2] != (byte)'L' || file[3] != (byte)'F')
            throw new SymbolFileException($"ELF header: bad magic {file[0]:x2} {file[1]:x2} {file[2]:x2} {file[3]:x2} (expected 7f 45 4c 46)");
        if (file[4] != 2)
            throw new SymbolFileException($"ELF header: class {file[4]} is not ELFCLASS64 (2)");
        if (file[5] != 1)
            throw new SymbolFileException($"ELF header: data encoding {file[5]} is not little-endian (1)");

        var header = file.AsSpan(0, HeaderSize);
        var type = BinaryPrimitives.ReadUInt16LittleEndian(header[16..]);
        var machine = BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        if (machine != MachineX86_64)
            throw new SymbolFileException($"ELF header: machine {machine} is not x86-64 ({MachineX86_64})");
        var sectionTableOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[40..]);
        var sectionEntrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[58..]);
        ulong sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(header[60..]);
        uint nameTableIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[62..]);

        if (sectionTableOffset == 0)
            return new ElfImage(file, type, []);
        if (sectionEntrySize != SectionHeaderSize)
            throw new SymbolFileException($"ELF header: section header size {sectionEntrySize}, expected {SectionHeaderSize}");
        CheckRange(file, sectionTableOffset, SectionHeaderSize, "section header 0");

        // Extended numbering: with 0xff00 or more sections, the real counts live in section 0.
        var first = file.AsSpan((int)sectionTableOffset, SectionHeaderSize);
        if (sectionCount == 0)
            sectionCount = BinaryPrimitives.ReadUInt64LittleEndian(first[32..]);
        if (nameTableIndex == SectionIndexExtended)
            nameTableIndex = BinaryPrimitives.ReadUInt32LittleEndian(first[40..]);
        if (sectionCount > (ulong)file.Length / SectionHeaderSize)
            throw new SymbolFileException($"ELF header: {sectionCount} section headers cannot fit in a file of {file.Length} bytes");
        CheckRange(file, sectionTableOffset, sectionCount * SectionHeaderSize, "section header table");

        var raw = new (uint Name, uint Type, ulong Flags, ulong Address, ulong Offset, ulong Size, uint Link, uint Info, ulong EntrySize)[sectionCount];
        for (var i = 0; i < raw.Length; i++)
        {
            var entry = file.AsSpan((int)(sectionTableOffset + (ulong)i * SectionHeaderSize), SectionHeaderSize);
            raw[i] = (BinaryPrimitives.ReadUInt32LittleEndian(entry),
                      BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]),
                      BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]),
                      BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]),
                      BinaryPrimitives.ReadUInt64LittleEndian(entry[24..]),
                      BinaryPrimitives.ReadUInt64LittleEndian(entry[32..]),
                      BinaryPrimitives.ReadUInt32LittleEndian(entry[40..]),
                      BinaryPrimitives.ReadUInt32LittleEndian(entry[44..]),
                      BinaryPrimitives.ReadUInt64LittleEndian(entry[56..]));
            if (i > 0 && raw[i].Type != ElfSection.TypeNoBits && raw[i].Type != ElfSection.TypeNull)
                CheckRange(file, raw[i].Offset, raw[i].Size, $"section [{i}]");
        }

        ReadOnlySpan<byte> names = [];
        if (nameTableIndex != 0)
        {
            if (nameTableIndex >= sectionCount)
                throw new SymbolFileException($"ELF header: section-name table index {nameTableIndex} is not below the section count {sectionCount}");
            names = file.AsSpan((int)raw[nameTableIndex].Offset, (int)raw[nameTableIndex].Size);
        }

        var sections = new ElfSection[sectionCount];
        for (var i = 0; i < sections.Length; i++)
        {
            var r = raw[i];
            var name = nameTableIndex == 0 ? "" : ReadString(names, r.Name, $"name of section [{i}]");
            sections[i] = new ElfSection(i, name, r.Type, r.Flags, r.Address, r.Offset, r.Size, r.Link, r.Info, r.EntrySize);
        }
        return new ElfImage(file, type, sections);
    }

    /// <summary>The file bytes of a section (empty for .bss-like sections).</summary>
    public ReadOnlySpan<byte> SectionData(int index)
    {
        var section = sections[index];
        return section.HasFileData ? bytes.AsSpan((int)section.Offset, (int)section.Size) : [];
    }

    /// <summary>The first section called <paramref name="name"/>, or null.</summary>
    public ElfSection? FindSection(string name)
    {
        foreach (var section in sections)
            if (section.Name == name)
                return section;
        return null;
    }

    /// <summary>
    /// Reads the symbol table (.symtab, else .dynsym); entry 0, the null symbol, is included so
    /// that indices match relocation entries. Empty when the object has no symbol table.
    /// </summary>
    /// <exception cref="SymbolFileException">The table or its string table is malformed.</exception>
    public ElfSymbol[] ReadSymbols()
    {
        var table = FindSectionOfType(ElfSection.TypeSymbolTable) ?? FindSectionOfType(ElfSection.TypeDynamicSymbolTable);
        if (table is not { } symtab)
            return [];
        return ReadSymbols(symtab.Index);
    }

    /// <summary>Reads the symbol table in section <paramref name="index"/>.</summary>
    /// <exception cref="SymbolFileException">The table or its string table is malformed.</exception>
    public ElfSymbol[] ReadSymbols(int index)
    {
        var symtab = sections[index];
        var where = $"symbol table [{index}] {symtab.Name}";
        if (symtab.EntrySize != SymbolSize)
            throw new SymbolFileException($"{where}: entry size {symtab.EntrySize}, expected {SymbolSize}");
        if (symtab.Size % SymbolSize != 0)
            throw new SymbolFileException($"{where}: size {symtab.Size} is not a multiple of {SymbolSize}");
        if (symtab.Link == 0 || symtab.Link >= sections.Length)
            throw new SymbolFileException($"{where}: string table index {symtab.Link} does not name a section");
        var strings = SectionData((int)symtab.Link);
        var data = SectionData(index);
        var symbols = new ElfSymbol[data.Length / SymbolSize];
        for (var i = 0; i < symbols.Length; i++)
        {
            var entry = data.Slice(i * SymbolSize, SymbolSize);
            var nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            var info = entry[4];
            var sectionIndex = BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]);
            var value = BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]);
            var size = BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]);
            var name = ReadString(strings, nameOffset, $"{where}: name of symbol {i}");
            symbols[i] = new ElfSymbol(i, name, value, size, (ElfSymbolType)(info & 0xf), (ElfSymbolBinding)(info >> 4), sectionIndex);
        }
        return symbols;
    }

    /// <summary>The relocation section (SHT_RELA) that applies to section <paramref name="target"/>, or null.</summary>
    public ElfSection? FindRelocationsFor(int target)
    {
        foreach (var section in sections)
            if (section.Type == ElfSection.TypeRela && section.Info == (uint)target)
                return section;
        return null;
    }

    /// <summary>Reads a NUL-terminated string at <paramref name="offset"/> of a string table.</summary>
    /// <exception cref="SymbolFileException">The offset is outside the table or the string has no terminator.</exception>
    public static string ReadString(ReadOnlySpan<byte> table, ulong offset, string what)
    {
        if (offset >= (ulong)table.Length)
        {
            if (offset == 0 && table.IsEmpty)
                return "";
            throw new SymbolFileException($"{what}: string offset 0x{offset:x} is outside its string table of 0x{table.Length:x} bytes");
        }
        var rest = table[(int)offset..];
        var end = rest.IndexOf((byte)0);
        if (end < 0)
            throw new SymbolFileException($"{what}: string at offset 0x{offset:x} has no terminating NUL");
        return Encoding.UTF8.GetString(rest[..end]);
    }

    private ElfSection? FindSectionOfType(uint type)
    {
        foreach (var section in sections)
            if (section.Type == type)
                return section;
        return null;
    }

    private static void CheckRange(byte[] file, ulong offset, ulong size, string what)
    {
        if (offset > (ulong)file.Length || size > (ulong)file.Length - offset)
            throw new SymbolFileException($"{what}: bytes 0x{offset:x}..0x{offset + size:x} lie beyond the end of the file (0x{file.Length:x} bytes)");
    }
}
