namespace Drk.Dispatcher.Symbols;

/// <summary>
/// The address -> file:line map of an object, decoded from its DWARF .debug_line (versions 2 to 5;
/// gcc 12 emits 5) into one array of rows sorted by address. A row covers the addresses up to the
/// next row; a sequence's end row covers nothing. Lookup is a binary search and allocates nothing.
/// </summary>
/// <remarks>
/// When several rows share an address the last one wins, as in binutils' addr2line. is_stmt,
/// columns, discriminators and views are read and dropped: one line per address is all reports need.
/// </remarks>
public sealed class DwarfLineTable
{
    /// <summary>The file index of an end-of-sequence row.</summary>
    internal const int NoFile = -1;

    private readonly ulong[] addresses;
    private readonly int[] lines;
    private readonly int[] files;
    private readonly SourceFile[] fileTable;

    internal DwarfLineTable(ulong[] addresses, int[] lines, int[] files, SourceFile[] fileTable)
    {
        this.addresses = addresses;
        this.lines = lines;
        this.files = files;
        this.fileTable = fileTable;
    }

    /// <summary>A table with no rows (an object built without -g).</summary>
    public static DwarfLineTable Empty { get; } = new([], [], [], []);

    /// <summary>Rows in the table, end-of-sequence rows included.</summary>
    public int RowCount => addresses.Length;

    /// <summary>
    /// Reads the line table of <paramref name="image"/>. For a relocatable object the .debug_line
    /// relocations are applied first with the sections at <paramref name="sectionAddresses"/>
    /// (indexed by section number; unplaced sections are 0), so rows come out at load addresses.
    /// </summary>
    /// <exception cref="SymbolFileException">The line table is malformed or uses an unsupported form.</exception>
    public static DwarfLineTable Read(ElfImage image, ReadOnlySpan<ulong> sectionAddresses = default)
    {
        if (image.FindSection(".debug_line") is not { } line)
            return Empty;
        ReadOnlySpan<byte> data = image.IsRelocatable
            ? ElfRelocator.RelocatedSection(image, line.Index, sectionAddresses)
            : image.SectionData(line.Index);
        var lineStrings = image.FindSection(".debug_line_str") is { } ls ? image.SectionData(ls.Index) : [];
        var strings = image.FindSection(".debug_str") is { } s ? image.SectionData(s.Index) : [];
        return Parse(data, lineStrings, strings);
    }

    /// <summary>Decodes the line programs of a whole .debug_line section (already relocated).</summary>
    /// <exception cref="SymbolFileException">The section is malformed or uses an unsupported form.</exception>
    public static DwarfLineTable Parse(ReadOnlySpan<byte> debugLine, ReadOnlySpan<byte> debugLineStr, ReadOnlySpan<byte> debugStr)
    {
        var builder = new DwarfLineTableBuilder();
        var cursor = new DwarfCursor(debugLine, ".debug_line");
        while (!cursor.AtEnd)
            ParseUnit(ref cursor, debugLine, debugLineStr, debugStr, builder);
        return builder.Build();
    }

    /// <summary>The source line of <paramref name="address"/>; false when no row covers it or its line is 0.</summary>
    public bool TryFind(ulong address, out SourceLine line)
    {
        var i = LastAtOrBelow(addresses, address);
        if (i < 0 || files[i] == NoFile || lines[i] == 0)
        {
            line = default;
            return false;
        }
        var file = fileTable[files[i]];
        line = new SourceLine(file.DisplayPath, file.FullPath, lines[i]);
        return true;
    }

    /// <summary>The index of the last element not above <paramref name="value"/>, or -1.</summary>
    internal static int LastAtOrBelow(ulong[] sorted, ulong value)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            var mid = (int)((uint)(low + high) >> 1);
            if (sorted[mid] <= value)
                low = mid + 1;
            else
                high = mid;
        }
        return low - 1;
    }

    private static void ParseUnit(ref DwarfCursor cursor, ReadOnlySpan<byte> section, ReadOnlySpan<byte> lineStr,
                                  ReadOnlySpan<byte> str, DwarfLineTableBuilder builder)
    {
        var unitStart = cursor.Position;
        ulong length = cursor.ReadU32();
        var offsetSize = 4;
        if (length == 0xffff_ffff)
        {
            length = cursor.ReadU64();
            offsetSize = 8;
        }
        else if (length >= 0xffff_fff0)
            throw cursor.Error($"unit at 0x{unitStart:x} has reserved length 0x{length:x}");
        if (length > (ulong)(cursor.Length - cursor.Position))
            throw cursor.Error($"unit at 0x{unitStart:x} claims 0x{length:x} bytes, beyond the end of the section");
        var unitEnd = cursor.Position + (int)length;
        var unit = new DwarfCursor(section[..unitEnd], ".debug_line", cursor.Position);
        cursor.Position = unitEnd;

        var version = unit.ReadU16();
        if (version < 2 || version > 5)
            throw unit.Error($"unit at 0x{unitStart:x} has DWARF version {version}; versions 2 to 5 are supported");
        var addressSize = 8;
        if (version >= 5)
        {
            addressSize = unit.ReadU8();
            var segmentSelectorSize = unit.ReadU8();
            if (segmentSelectorSize != 0)
                throw unit.Error($"unit at 0x{unitStart:x} uses segment selectors, which x86-64 objects never do");
        }
        var headerLength = unit.ReadUnsigned(offsetSize);
        if (headerLength > (ulong)(unitEnd - unit.Position))
            throw unit.Error($"unit at 0x{unitStart:x}: header length 0x{headerLength:x} runs past the unit");
        var programStart = unit.Position + (int)headerLength;

        var minimumInstructionLength = unit.ReadU8();
        if (version >= 4)
            unit.ReadU8(); // maximum operations per instruction: only VLIW targets use more than 1
        var defaultIsStatement = unit.ReadU8();
        _ = defaultIsStatement;
        var lineBase = (sbyte)unit.ReadU8();
        var lineRange = unit.ReadU8();
        if (lineRange == 0)
            throw unit.Error($"unit at 0x{unitStart:x} has line_range 0");
        var opcodeBase = unit.ReadU8();
        if (opcodeBase == 0)
            throw unit.Error($"unit at 0x{unitStart:x} has opcode_base 0");
        Span<byte> standardLengths = stackalloc byte[opcodeBase];
        for (var i = 1; i < opcodeBase; i++)
            standardLengths[i] = unit.ReadU8();

        var fileIds = version >= 5
            ? ReadVersion5Files(ref unit, offsetSize, lineStr, str, builder)
            : ReadLegacyFiles(ref unit, builder);
        // In DWARF 5 the file register indexes the table from 0; before, from 1.
        var fileBias = version >= 5 ? 0 : 1;

        unit.Position = programStart;
        RunProgram(ref unit, unitEnd, addressSize, minimumInstructionLength, lineBase, lineRange, opcodeBase,
                   standardLengths, fileIds, fileBias, builder);
    }

    private static void RunProgram(ref DwarfCursor unit, int unitEnd, int addressSize, byte minimumInstructionLength,
                                   sbyte lineBase, byte lineRange, byte opcodeBase, scoped ReadOnlySpan<byte> standardLengths,
                                   List<int> fileIds, int fileBias, DwarfLineTableBuilder builder)
    {
        ulong address = 0;
        ulong file = 1;
        long line = 1;
        builder.StartSequence();

        while (unit.Position < unitEnd)
        {
            var opcode = unit.ReadU8();
            if (opcode >= opcodeBase)
            {
                var adjusted = opcode - opcodeBase;
                address += (ulong)(adjusted / lineRange * minimumInstructionLength);
                line += lineBase + adjusted % lineRange;
                builder.AddRow(address, ClampLine(line), FileId(file, fileIds, fileBias, builder));
                continue;
            }
            switch (opcode)
            {
                case 0:
                {
                    var length = unit.ReadUleb128();
                    if (length == 0)
                        break;
                    var operandsEnd = unit.Position + 1;
                    if (length - 1 > (ulong)(unitEnd - operandsEnd))
                        throw unit.Error($"extended opcode of length {length} runs past the unit");
                    operandsEnd += (int)(length - 1);
                    var extended = unit.ReadU8();
                    switch (extended)
                    {
                        case 1: // DW_LNE_end_sequence
                            builder.EndSequence(address);
                            address = 0;
                            file = 1;
                            line = 1;
                            builder.StartSequence();
                            break;
                        case 2: // DW_LNE_set_address
                        {
                            var size = operandsEnd - unit.Position;
                            if (size != 4 && size != 8)
                                throw unit.Error($"DW_LNE_set_address with a {size}-byte operand (address size {addressSize})");
                            address = unit.ReadUnsigned(size);
                            break;
                        }
                        case 3: // DW_LNE_define_file (DWARF 2-4)
                        {
                            var name = unit.ReadCString();
                            var directory = unit.ReadUlebInt("directory index");
                            fileIds.Add(builder.LegacyFile(name, directory));
                            break;
                        }
                    }
                    // Skips the operands of opcodes that are ignored (set_discriminator, vendor ones).
                    unit.Position = operandsEnd;
                    break;
                }
                case 1: // DW_LNS_copy
                    builder.AddRow(address, ClampLine(line), FileId(file, fileIds, fileBias, builder));
                    break;
                case 2: // DW_LNS_advance_pc
                    address += unit.ReadUleb128() * minimumInstructionLength;
                    break;
                case 3: // DW_LNS_advance_line
                    line += unit.ReadSleb128();
                    break;
                case 4: // DW_LNS_set_file
                    file = unit.ReadUleb128();
                    break;
                case 8: // DW_LNS_const_add_pc
                    address += (ulong)((255 - opcodeBase) / lineRange * minimumInstructionLength);
                    break;
                case 9: // DW_LNS_fixed_advance_pc
                    address += unit.ReadU16();
                    break;
                default:
                    // set_column, negate_stmt, basic_block, prologue_end, epilogue_begin, set_isa and
                    // opcodes newer than this reader: each declares how many ULEB128 operands it takes.
                    for (var i = 0; i < standardLengths[opcode]; i++)
                        unit.ReadUleb128();
                    break;
            }
        }
        builder.DropOpenSequence();
    }

    private static int ClampLine(long line) => line is > 0 and <= int.MaxValue ? (int)line : 0;

    private static int FileId(ulong register, List<int> fileIds, int bias, DwarfLineTableBuilder builder)
    {
        var index = register - (ulong)bias;
        return index < (ulong)fileIds.Count ? fileIds[(int)index] : builder.UnknownFile();
    }

    private static List<int> ReadVersion5Files(ref DwarfCursor unit, int offsetSize, ReadOnlySpan<byte> lineStr,
                                               ReadOnlySpan<byte> str, DwarfLineTableBuilder builder)
    {
        var directories = new List<(string Path, int Directory)>();
        ReadEntryTable(ref unit, offsetSize, lineStr, str, directories, "directory");
        var names = new List<(string Path, int Directory)>();
        ReadEntryTable(ref unit, offsetSize, lineStr, str, names, "file");

        var compilationDirectory = directories.Count > 0 ? directories[0].Path : "";
        var ids = new List<int>(names.Count);
        foreach (var (name, directoryIndex) in names)
        {
            var directory = directoryIndex < directories.Count ? directories[directoryIndex].Path : "";
            var full = Join(Join(compilationDirectory, directory), name);
            ids.Add(builder.File(full, compilationDirectory));
        }
        return ids;
    }

    private static void ReadEntryTable(ref DwarfCursor unit, int offsetSize, ReadOnlySpan<byte> lineStr,
                                       ReadOnlySpan<byte> str, List<(string Path, int Directory)> entries, string what)
    {
        var formatCount = unit.ReadU8();
        Span<(ulong Content, ulong Form)> formats = stackalloc (ulong, ulong)[formatCount];
        for (var i = 0; i < formatCount; i++)
            formats[i] = (unit.ReadUleb128(), unit.ReadUleb128());
        var count = unit.ReadUlebInt($"{what} count");
        for (var e = 0; e < count; e++)
        {
            var path = "";
            var directory = 0;
            foreach (var (content, form) in formats)
            {
                switch (content)
                {
                    case 1: // DW_LNCT_path
                        path = ReadStringForm(ref unit, form, offsetSize, lineStr, str);
                        break;
                    case 2: // DW_LNCT_directory_index
                        var index = ReadConstantForm(ref unit, form);
                        directory = index <= int.MaxValue ? (int)index : int.MaxValue;
                        break;
                    default: // timestamp, size, MD5, vendor content
                        SkipForm(ref unit, form, offsetSize);
                        break;
                }
            }
            entries.Add((path, directory));
        }
    }

    private static string ReadStringForm(ref DwarfCursor unit, ulong form, int offsetSize, ReadOnlySpan<byte> lineStr, ReadOnlySpan<byte> str)
    {
        switch (form)
        {
            case 0x08: // DW_FORM_string
                return unit.ReadCString();
            case 0x1f: // DW_FORM_line_strp
                return ElfImage.ReadString(lineStr, unit.ReadUnsigned(offsetSize), ".debug_line_str");
            case 0x0e: // DW_FORM_strp
                return ElfImage.ReadString(str, unit.ReadUnsigned(offsetSize), ".debug_str");
            default:
                throw unit.Error($"path in form 0x{form:x}; only string, strp and line_strp are supported");
        }
    }

    private static ulong ReadConstantForm(ref DwarfCursor unit, ulong form) => form switch
    {
        0x0b => unit.ReadU8(),      // DW_FORM_data1
        0x05 => unit.ReadU16(),     // DW_FORM_data2
        0x06 => unit.ReadU32(),     // DW_FORM_data4
        0x07 => unit.ReadU64(),     // DW_FORM_data8
        0x0f => unit.ReadUleb128(), // DW_FORM_udata
        _ => throw unit.Error($"directory index in form 0x{form:x}; only data1/2/4/8 and udata are supported"),
    };

    private static void SkipForm(ref DwarfCursor unit, ulong form, int offsetSize)
    {
        switch (form)
        {
            case 0x08: unit.ReadCString(); break;                  // string
            case 0x0e: case 0x1f: unit.Skip((ulong)offsetSize); break; // strp, line_strp
            case 0x0b: unit.Skip(1); break;                        // data1
            case 0x05: unit.Skip(2); break;                        // data2
            case 0x06: unit.Skip(4); break;                        // data4
            case 0x07: unit.Skip(8); break;                        // data8
            case 0x1e: unit.Skip(16); break;                       // data16 (MD5)
            case 0x0f: unit.ReadUleb128(); break;                  // udata
            case 0x0d: unit.ReadSleb128(); break;                  // sdata
            case 0x09: unit.Skip(unit.ReadUleb128()); break;       // block
            case 0x0a: unit.Skip(unit.ReadU8()); break;            // block1
            case 0x03: unit.Skip(unit.ReadU16()); break;           // block2
            case 0x04: unit.Skip(unit.ReadU32()); break;           // block4
            default: throw unit.Error($"entry in form 0x{form:x}, which this reader cannot skip");
        }
    }

    private static List<int> ReadLegacyFiles(ref DwarfCursor unit, DwarfLineTableBuilder builder)
    {
        builder.BeginLegacyUnit();
        while (true)
        {
            var directory = unit.ReadCString();
            if (directory.Length == 0)
                break;
            builder.AddLegacyDirectory(directory);
        }
        var ids = new List<int>();
        while (true)
        {
            var name = unit.ReadCString();
            if (name.Length == 0)
                break;
            var directory = unit.ReadUlebInt("directory index");
            unit.ReadUleb128(); // modification time
            unit.ReadUleb128(); // length
            ids.Add(builder.LegacyFile(name, directory));
        }
        return ids;
    }

    /// <summary>Joins paths the way the line table means them: an absolute second part stands alone.</summary>
    internal static string Join(string first, string second)
    {
        if (second.StartsWith('/') || first.Length == 0)
            return second;
        if (second.Length == 0)
            return first;
        return first.EndsWith('/') ? first + second : first + "/" + second;
    }
}
