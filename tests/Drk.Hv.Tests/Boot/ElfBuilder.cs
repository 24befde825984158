using System.Buffers.Binary;

namespace Drk.Hv.Tests.Boot;

/// <summary>Writes small ELF64 images for loader tests, with knobs to break them.</summary>
public sealed class ElfBuilder
{
    public sealed record Segment(ulong PhysicalAddress, byte[] Data, ulong MemorySize, uint Flags = 5, uint Type = 1, ulong VirtualAddress = 0);

    public List<Segment> Segments { get; } = new();
    public ulong Entry { get; set; }
    public byte Class { get; set; } = 2;
    public ushort Machine { get; set; } = 62;
    public ushort Type { get; set; } = 2;
    public ushort ProgramHeaderSize { get; set; } = 56;

    public byte[] Build()
    {
        int phoff = 64;
        int dataStart = phoff + 56 * Segments.Count;
        int size = dataStart;
        foreach (var s in Segments) size += s.Data.Length;
        var image = new byte[size];
        var span = image.AsSpan();
        "\u007fELF"u8.CopyTo(span);
        image[4] = Class;
        image[5] = 1;
        image[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(span.Slice(16), Type);
        BinaryPrimitives.WriteUInt16LittleEndian(span.Slice(18), Machine);
        BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(20), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(span.Slice(24), Entry);
        BinaryPrimitives.WriteUInt64LittleEndian(span.Slice(32), (ulong)phoff);
        BinaryPrimitives.WriteUInt16LittleEndian(span.Slice(52), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(span.Slice(54), ProgramHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(span.Slice(56), (ushort)Segments.Count);
        int at = dataStart;
        for (int i = 0; i < Segments.Count; i++)
        {
            var s = Segments[i];
            var ph = span.Slice(phoff + 56 * i, 56);
            BinaryPrimitives.WriteUInt32LittleEndian(ph, s.Type);
            BinaryPrimitives.WriteUInt32LittleEndian(ph.Slice(4), s.Flags);
            BinaryPrimitives.WriteUInt64LittleEndian(ph.Slice(8), (ulong)at);
            BinaryPrimitives.WriteUInt64LittleEndian(ph.Slice(16), s.VirtualAddress != 0 ? s.VirtualAddress : 0xFFFF_FFFF_8000_0000 + s.PhysicalAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(ph.Slice(24), s.PhysicalAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(ph.Slice(32), (ulong)s.Data.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(ph.Slice(40), s.MemorySize);
            BinaryPrimitives.WriteUInt64LittleEndian(ph.Slice(48), 0x1000);
            s.Data.CopyTo(span.Slice(at));
            at += s.Data.Length;
        }
        return image;
    }

    /// <summary>A well-formed kernel: code at 1 MiB (entry 0x100010), data + bss at 2 MiB.</summary>
    public static ElfBuilder Kernel()
    {
        var b = new ElfBuilder { Entry = 0x10_0010 };
        var code = new byte[0x40];
        code[0x10] = 0xF4; // hlt
        b.Segments.Add(new Segment(0x10_0000, code, 0x40, Flags: 5));
        b.Segments.Add(new Segment(0x20_0000, new byte[] { 1, 2, 3, 4 }, 0x2000, Flags: 6));
        return b;
    }
}
