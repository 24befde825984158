using System.Buffers.Binary;

namespace Drk.Guest.Tests;

/// <summary>Static checks of the built image: the boot contract in the ELF headers and the instruction subset.</summary>
public sealed class GuestImageTests
{
    private const uint PtLoad = 1;
    private const uint PtNote = 4;
    private const uint PfExecute = 1;
    private const uint XenElfnotePhys32Entry = 18;

    [SkippableFact]
    public void Entry_point_is_the_physical_address_of_identity_loaded_code()
    {
        var build = GuestPrerequisites.RequireBuild();
        var elf = File.ReadAllBytes(build.KernelPath);
        var entry = BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(24));

        var inBootSegment = ProgramHeaders(elf).Any(p =>
            p.Type == PtLoad && (p.Flags & PfExecute) != 0 && p.VirtualAddress == p.PhysicalAddress &&
            entry >= p.PhysicalAddress && entry < p.PhysicalAddress + p.MemorySize);
        Assert.True(entry < 1UL << 32, $"e_entry 0x{entry:x} is not a physical address below 4 GiB");
        Assert.True(inBootSegment, $"e_entry 0x{entry:x} is not in an executable segment loaded at its physical address");
    }

    [SkippableFact]
    public void PVH_note_holds_an_8_byte_entry_in_a_4_byte_aligned_note()
    {
        var build = GuestPrerequisites.RequireBuild();
        var elf = File.ReadAllBytes(build.KernelPath);
        var notes = ProgramHeaders(elf).Where(p => p.Type == PtNote).ToList();
        Assert.NotEmpty(notes);

        ulong? entry = null;
        foreach (var note in notes)
        {
            Assert.Equal(0UL, note.Offset % 4);
            var span = elf.AsSpan((int)note.Offset, (int)note.FileSize);
            for (var at = 0; at + 12 <= span.Length;)
            {
                var nameSize = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
                var descSize = BinaryPrimitives.ReadInt32LittleEndian(span[(at + 4)..]);
                var type = BinaryPrimitives.ReadUInt32LittleEndian(span[(at + 8)..]);
                var desc = at + 12 + Align4(nameSize);
                if (type == XenElfnotePhys32Entry && span.Slice(at + 12, nameSize).SequenceEqual("Xen\0"u8))
                {
                    Assert.Equal(8, descSize);
                    entry = BinaryPrimitives.ReadUInt64LittleEndian(span[desc..]);
                }
                at = desc + Align4(descSize);
            }
        }
        Assert.True(entry is > 0 and < 1UL << 32, "no XEN_ELFNOTE_PHYS32_ENTRY note with a 32-bit entry");
    }

    [SkippableFact]
    public async Task Compiled_code_uses_no_x87_SSE_or_AVX_instruction()
    {
        GuestPrerequisites.RequireBuild();
        var check = await GuestBuild.RunMakeAsync("check");
        Assert.True(check.ExitCode == 0, check.StandardOutput + check.StandardError);
        Assert.Contains("check-insns: ok", check.StandardOutput);
    }

    private static int Align4(int n) => (n + 3) & ~3;

    private sealed record ProgramHeader(uint Type, uint Flags, ulong Offset, ulong VirtualAddress,
                                        ulong PhysicalAddress, ulong FileSize, ulong MemorySize);

    private static List<ProgramHeader> ProgramHeaders(byte[] elf)
    {
        Assert.True(elf.AsSpan(0, 4).SequenceEqual("\u007fELF"u8) && elf[4] == 2, "not an ELF64 file");
        var phoff = (int)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(32));
        var phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(54));
        var phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(56));
        var headers = new List<ProgramHeader>();
        for (var i = 0; i < phnum; i++)
        {
            var h = elf.AsSpan(phoff + i * phentsize);
            headers.Add(new ProgramHeader(
                BinaryPrimitives.ReadUInt32LittleEndian(h),
                BinaryPrimitives.ReadUInt32LittleEndian(h[4..]),
                BinaryPrimitives.ReadUInt64LittleEndian(h[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(h[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(h[24..]),
                BinaryPrimitives.ReadUInt64LittleEndian(h[32..]),
                BinaryPrimitives.ReadUInt64LittleEndian(h[40..])));
        }
        return headers;
    }
}
