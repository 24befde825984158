using System.Buffers.Binary;

namespace Drk.Hv.Boot;

/// <summary>
/// A validated ELF64 x86-64 executable: its entry point (the physical address of the 64-bit
/// entry, by the boot contract) and its PT_LOAD segments, which are loaded by physical address.
/// </summary>
/// <remarks>
/// Parsing checks everything before anything is loaded: identification, class, byte order,
/// machine, type, header sizes, that every program header and every segment's file bytes lie
/// inside the file, that file size ≤ memory size, that segments do not overlap, and that the
/// entry lies in an executable segment. Placement in RAM is checked by <see cref="ValidatePlacement"/>.
/// Every problem is a <see cref="BootException"/> naming it.
/// </remarks>
public sealed class ElfKernelImage
{
    private const int HeaderSize = 64, ProgramHeaderSize = 56;
    private const ushort TypeExecutable = 2, MachineX86_64 = 62;
    private const uint PtLoad = 1;

    private ElfKernelImage(ulong entry, ElfSegment[] segments)
    {
        Entry = entry;
        Segments = segments;
    }

    /// <summary>e_entry: the physical address of the kernel's 64-bit entry point.</summary>
    public ulong Entry { get; }

    /// <summary>The PT_LOAD segments with a non-zero memory size, in file order.</summary>
    public IReadOnlyList<ElfSegment> Segments { get; }

    /// <summary>One past the highest physical byte any segment occupies.</summary>
    public ulong PhysicalEnd
    {
        get
        {
            ulong end = 0;
            foreach (var s in Segments) end = Math.Max(end, s.PhysicalEnd);
            return end;
        }
    }

    /// <summary>Parses and validates <paramref name="image"/>.</summary>
    /// <exception cref="BootException">The image is malformed or not a 64-bit x86-64 executable.</exception>
    public static ElfKernelImage Parse(ReadOnlySpan<byte> image)
    {
        if (image.Length < HeaderSize)
            throw new BootException($"kernel image is truncated: {image.Length} bytes, an ELF64 header needs {HeaderSize}");
        if (image[0] != 0x7F || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
            throw new BootException("kernel image is not an ELF file (bad magic)");
        if (image[4] != 2)
            throw new BootException($"kernel image is not a 64-bit ELF (class {image[4]})");
        if (image[5] != 1)
            throw new BootException($"kernel image is not little-endian (data encoding {image[5]})");
        if (image[6] != 1)
            throw new BootException($"kernel image has unknown ELF version {image[6]}");
        ushort type = U16(image, 16);
        if (type != TypeExecutable)
            throw new BootException($"kernel image is not an executable ELF (e_type {type}); link it as ET_EXEC");
        ushort machine = U16(image, 18);
        if (machine != MachineX86_64)
            throw new BootException($"kernel image is not for x86-64 (e_machine {machine})");
        ulong entry = U64(image, 24);
        ulong phoff = U64(image, 32);
        ushort phentsize = U16(image, 54);
        ushort phnum = U16(image, 56);
        if (phnum == 0)
            throw new BootException("kernel image has no program headers");
        if (phentsize != ProgramHeaderSize)
            throw new BootException($"kernel image has program headers of {phentsize} bytes, expected {ProgramHeaderSize}");
        ulong tableBytes = (ulong)phnum * ProgramHeaderSize;
        if (phoff > (ulong)image.Length || tableBytes > (ulong)image.Length - phoff)
            throw new BootException($"kernel image is truncated: program headers at {phoff:#x} ({phnum} entries) extend past its {image.Length} bytes");

        var segments = new List<ElfSegment>();
        for (int i = 0; i < phnum; i++)
        {
            var ph = image.Slice((int)phoff + i * ProgramHeaderSize, ProgramHeaderSize);
            if (U32(ph, 0) != PtLoad) continue;
            var s = new ElfSegment(U64(ph, 8), U64(ph, 32), U64(ph, 16), U64(ph, 24), U64(ph, 40), U32(ph, 4));
            if (s.FileOffset > (ulong)image.Length || s.FileSize > (ulong)image.Length - s.FileOffset)
                throw new BootException($"kernel image is truncated: segment {i} needs file bytes [{s.FileOffset:#x}, +{s.FileSize:#x}) of {image.Length}");
            if (s.FileSize > s.MemorySize)
                throw new BootException($"kernel segment {i} has more file bytes ({s.FileSize:#x}) than memory bytes ({s.MemorySize:#x})");
            if (s.MemorySize == 0) continue;
            if (s.PhysicalAddress + s.MemorySize < s.PhysicalAddress)
                throw new BootException($"kernel segment {i} wraps around the physical address space");
            foreach (var o in segments)
                if (s.PhysicalAddress < o.PhysicalEnd && o.PhysicalAddress < s.PhysicalEnd)
                    throw new BootException($"kernel segment {i} [{s.PhysicalAddress:#x}, {s.PhysicalEnd:#x}) overlaps another at [{o.PhysicalAddress:#x}, {o.PhysicalEnd:#x})");
            segments.Add(s);
        }
        if (segments.Count == 0)
            throw new BootException("kernel image has no PT_LOAD segment");
        bool entryInCode = false;
        foreach (var s in segments)
            if (s.Executable && entry >= s.PhysicalAddress && entry < s.PhysicalEnd) entryInCode = true;
        if (!entryInCode)
            throw new BootException($"kernel entry point {entry:#x} is not inside an executable segment's physical range (e_entry must be the physical address of the 64-bit entry)");
        return new ElfKernelImage(entry, segments.ToArray());
    }

    /// <summary>Checks that every segment lies in RAM at or above <see cref="BootLayout.KernelMinimumAddress"/>.</summary>
    /// <exception cref="BootException">A segment is outside RAM or overlaps the loader's low memory.</exception>
    public void ValidatePlacement(ulong ramSize)
    {
        for (int i = 0; i < Segments.Count; i++)
        {
            var s = Segments[i];
            if (s.PhysicalEnd > ramSize)
                throw new BootException($"kernel segment [{s.PhysicalAddress:#x}, {s.PhysicalEnd:#x}) is outside RAM ({ramSize >> 20} MiB)");
            if (s.PhysicalAddress < BootLayout.KernelMinimumAddress)
                throw new BootException($"kernel segment at {s.PhysicalAddress:#x} is below 1 MiB, where the loader keeps its structures");
        }
    }

    /// <summary>Copies the segments into RAM and zeroes their bss parts.</summary>
    public void LoadInto(Memory.PhysicalMemory memory, ReadOnlySpan<byte> image)
    {
        ValidatePlacement(memory.RamSize);
        foreach (var s in Segments)
        {
            // File bytes fit in an int (they come from a span); bss may not, so clear it in chunks.
            var file = image.Slice((int)s.FileOffset, (int)s.FileSize);
            file.CopyTo(memory.GetRamSpan(s.PhysicalAddress, file.Length));
            for (ulong at = s.PhysicalAddress + s.FileSize; at < s.PhysicalEnd;)
            {
                int chunk = (int)Math.Min(s.PhysicalEnd - at, 1UL << 30);
                memory.GetRamSpan(at, chunk).Clear();
                at += (ulong)chunk;
            }
        }
    }

    private static ushort U16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(at));
    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.Slice(at));
    private static ulong U64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b.Slice(at));
}
