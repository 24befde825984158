using System.Buffers.Binary;

namespace Drk.Dispatcher.Symbols;

/// <summary>
/// A bounds-checked little-endian reader over a DWARF section: fixed-size integers, LEB128 and
/// NUL-terminated strings. Running off the end raises <see cref="SymbolFileException"/> naming the
/// section and offset, never an index exception.
/// </summary>
internal ref struct DwarfCursor
{
    private readonly ReadOnlySpan<byte> data;
    private readonly string section;

    public DwarfCursor(ReadOnlySpan<byte> data, string section, int position = 0)
    {
        this.data = data;
        this.section = section;
        Position = position;
    }

    /// <summary>Offset of the next byte within the section.</summary>
    public int Position { get; set; }

    public readonly bool AtEnd => Position >= data.Length;

    public readonly int Length => data.Length;

    public byte ReadU8() => Take(1)[0];

    public ushort ReadU16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint ReadU32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public ulong ReadU64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

    /// <summary>A 4- or 8-byte value: offsets in 32-bit or 64-bit DWARF, addresses by address size.</summary>
    public ulong ReadUnsigned(int size) => size switch
    {
        1 => ReadU8(),
        2 => ReadU16(),
        4 => ReadU32(),
        8 => ReadU64(),
        _ => throw Error($"unsupported {size}-byte value"),
    };

    public ulong ReadUleb128()
    {
        ulong result = 0;
        var shift = 0;
        while (true)
        {
            var b = ReadU8();
            if (shift < 64)
                result |= (ulong)(b & 0x7f) << shift;
            shift += 7;
            if ((b & 0x80) == 0)
                return result;
        }
    }

    public long ReadSleb128()
    {
        long result = 0;
        var shift = 0;
        byte b;
        do
        {
            b = ReadU8();
            if (shift < 64)
                result |= (long)(b & 0x7f) << shift;
            shift += 7;
        } while ((b & 0x80) != 0);
        if (shift < 64 && (b & 0x40) != 0)
            result |= -1L << shift;
        return result;
    }

    /// <summary>A ULEB128 that must fit an int (counts, indices).</summary>
    public int ReadUlebInt(string what)
    {
        var start = Position;
        var value = ReadUleb128();
        if (value > int.MaxValue)
            throw new SymbolFileException($"{section}+0x{start:x}: {what} {value} is too large");
        return (int)value;
    }

    public string ReadCString()
    {
        var rest = data[Position..];
        var end = rest.IndexOf((byte)0);
        if (end < 0)
            throw Error("string without a terminating NUL");
        Position += end + 1;
        return System.Text.Encoding.UTF8.GetString(rest[..end]);
    }

    public void Skip(ulong count)
    {
        if (count > (ulong)(data.Length - Position))
            throw Error($"skipping {count} bytes runs past the end of the section");
        Position += (int)count;
    }

    public readonly SymbolFileException Error(string what) =>
        new($"{section}+0x{Position:x}: {what}");

    private ReadOnlySpan<byte> Take(int count)
    {
        if (Position < 0 || count > data.Length - Position)
            throw Error($"reading {count} bytes runs past the end of the section (0x{data.Length:x} bytes)");
        var span = data.Slice(Position, count);
        Position += count;
        return span;
    }
}
