using System.Buffers.Binary;
using Iced.Intel;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// Builds tiny ELF64 x86-64 executables for tests: PT_LOAD segments at physical addresses, the
/// entry point inside the first one, code assembled with Iced. Enough for Drk's loader, which
/// enters at e_entry in long mode (docs/guest-abi.md section 3.2).
/// </summary>
public static class TestElf
{
    /// <summary>The address the first segment (the code) is loaded at: 1 MiB, the lowest a kernel may use.</summary>
    public const ulong Base = 0x10_0000;

    /// <summary>One segment: its physical (and virtual) address, its bytes, and whether it is executable.</summary>
    public readonly record struct Segment(ulong Address, byte[] Bytes, bool Executable = true);

    /// <summary>An image whose only segment is <paramref name="emit"/> assembled at <see cref="Base"/>, entered at its first byte.</summary>
    public static byte[] FromCode(Action<Assembler> emit) => Build(Base, new Segment(Base, Assemble(emit, Base)));

    /// <summary>Assembles <paramref name="emit"/> at <paramref name="address"/>.</summary>
    public static byte[] Assemble(Action<Assembler> emit, ulong address)
    {
        var assembler = new Assembler(64);
        emit(assembler);
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), address);
        return stream.ToArray();
    }

    /// <summary>An ELF64 ET_EXEC image entered at <paramref name="entry"/>, segments page-aligned in the file.</summary>
    public static byte[] Build(ulong entry, params Segment[] segments)
    {
        const int header = 64, programHeader = 56;
        int offset = Align(header + programHeader * segments.Length);
        var offsets = new int[segments.Length];
        for (int i = 0; i < segments.Length; i++)
        {
            offsets[i] = offset;
            offset = Align(offset + segments[i].Bytes.Length);
        }
        var image = new byte[offset];
        var h = image.AsSpan();
        h[0] = 0x7F; h[1] = (byte)'E'; h[2] = (byte)'L'; h[3] = (byte)'F';
        h[4] = 2; h[5] = 1; h[6] = 1;                                    // 64-bit, little-endian, version 1
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], 2);              // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], 62);             // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], entry);
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], header);         // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(h[52..], header);         // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(h[54..], programHeader);
        BinaryPrimitives.WriteUInt16LittleEndian(h[56..], (ushort)segments.Length);
        for (int i = 0; i < segments.Length; i++)
        {
            var s = segments[i];
            var ph = h.Slice(header + i * programHeader, programHeader);
            BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);                                // PT_LOAD
            BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], s.Executable ? 5u : 6u);      // R+X or R+W
            BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], (ulong)offsets[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], s.Address);                 // p_vaddr
            BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], s.Address);                 // p_paddr
            BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)s.Bytes.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], (ulong)s.Bytes.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], 0x1000);
            s.Bytes.CopyTo(image, offsets[i]);
        }
        return image;
    }

    /// <summary>Writes <paramref name="image"/> to a fresh temporary file and returns its path.</summary>
    public static string WriteTemporary(byte[] image, string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "drk-e2e-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, image);
        return path;
    }

    private static int Align(int n) => (n + 0xFFF) & ~0xFFF;
}
