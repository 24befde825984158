using System.Buffers.Binary;
using System.Text;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// Builds guest-kernel modules and initrds in tests: an ELF64 relocatable object whose
/// <c>init_module</c> is the given machine code (no relocations), and a "newc" cpio archive
/// (docs/guest-abi.md sections 7 and 8).
/// </summary>
public static class TestModule
{
    /// <summary>An ET_REL object with one .text section holding <paramref name="code"/> and a global function <c>init_module</c> at its start.</summary>
    public static byte[] Object(byte[] code)
    {
        byte[] shstrtab = Encoding.ASCII.GetBytes("\0.text\0.symtab\0.strtab\0.shstrtab\0");
        byte[] strtab = Encoding.ASCII.GetBytes("\0init_module\0");
        var symtab = new byte[3 * 24];
        symtab[24 + 4] = 3;                                                    // [1] STT_SECTION, local
        BinaryPrimitives.WriteUInt16LittleEndian(symtab.AsSpan(24 + 6), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(symtab.AsSpan(48), 1);        // [2] "init_module"
        symtab[48 + 4] = 0x12;                                                 // STB_GLOBAL, STT_FUNC
        BinaryPrimitives.WriteUInt16LittleEndian(symtab.AsSpan(48 + 6), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(symtab.AsSpan(48 + 16), (ulong)code.Length);

        var file = new MemoryStream();
        file.Write(new byte[64]);
        long text = Append(file, code, 16), sym = Append(file, symtab, 8), str = Append(file, strtab, 1), shstr = Append(file, shstrtab, 1);
        long sections = Append(file, new byte[5 * 64], 8);
        var image = file.ToArray();
        var h = image.AsSpan();
        h[0] = 0x7F; h[1] = (byte)'E'; h[2] = (byte)'L'; h[3] = (byte)'F'; h[4] = 2; h[5] = 1; h[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], 1);                  // ET_REL
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], 62);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(h[40..], (ulong)sections);
        BinaryPrimitives.WriteUInt16LittleEndian(h[52..], 64);
        BinaryPrimitives.WriteUInt16LittleEndian(h[58..], 64);
        BinaryPrimitives.WriteUInt16LittleEndian(h[60..], 5);
        BinaryPrimitives.WriteUInt16LittleEndian(h[62..], 4);
        Section(h, sections, 1, name: 1, type: 1, flags: 6, text, code.Length, link: 0, info: 0, align: 16, entsize: 0);
        Section(h, sections, 2, name: 7, type: 2, flags: 0, sym, symtab.Length, link: 3, info: 2, align: 8, entsize: 24);
        Section(h, sections, 3, name: 15, type: 3, flags: 0, str, strtab.Length, link: 0, info: 0, align: 1, entsize: 0);
        Section(h, sections, 4, name: 23, type: 3, flags: 0, shstr, shstrtab.Length, link: 0, info: 0, align: 1, entsize: 0);
        return image;
    }

    /// <summary>A newc cpio archive holding the directory <c>modules</c> and each (name, bytes) as <c>modules/NAME.o</c>.</summary>
    public static byte[] Initrd(params (string Name, byte[] Object)[] modules)
    {
        var archive = new MemoryStream();
        uint inode = 1;
        Entry(archive, "modules", 0x41ED, [], inode++);
        foreach (var (name, obj) in modules) Entry(archive, $"modules/{name}.o", 0x81A4, obj, inode++);
        Entry(archive, "TRAILER!!!", 0, [], 0);
        while (archive.Length % 512 != 0) archive.WriteByte(0);
        return archive.ToArray();
    }

    private static void Entry(MemoryStream archive, string name, uint mode, byte[] data, uint inode)
    {
        byte[] nameBytes = Encoding.ASCII.GetBytes(name + "\0");
        uint[] fields = [inode, mode, 0, 0, mode == 0x41ED ? 2u : 1u, 0, (uint)data.Length, 0, 0, 0, 0, (uint)nameBytes.Length, 0];
        var header = new StringBuilder("070701");
        foreach (var f in fields) header.Append(f.ToString("X8", System.Globalization.CultureInfo.InvariantCulture));
        archive.Write(Encoding.ASCII.GetBytes(header.ToString()));
        archive.Write(nameBytes);
        while (archive.Length % 4 != 0) archive.WriteByte(0);
        archive.Write(data);
        while (archive.Length % 4 != 0) archive.WriteByte(0);
    }

    private static long Append(MemoryStream file, byte[] bytes, int align)
    {
        while (file.Length % align != 0) file.WriteByte(0);
        long at = file.Length;
        file.Write(bytes);
        return at;
    }

    private static void Section(Span<byte> image, long table, int index, uint name, uint type, ulong flags, long offset, int size,
                                uint link, uint info, ulong align, ulong entsize)
    {
        var s = image.Slice((int)table + index * 64, 64);
        BinaryPrimitives.WriteUInt32LittleEndian(s, name);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], type);
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(s[24..], (ulong)offset);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], (ulong)size);
        BinaryPrimitives.WriteUInt32LittleEndian(s[40..], link);
        BinaryPrimitives.WriteUInt32LittleEndian(s[44..], info);
        BinaryPrimitives.WriteUInt64LittleEndian(s[48..], align);
        BinaryPrimitives.WriteUInt64LittleEndian(s[56..], entsize);
    }
}
