using Drk.Hv.Boot;

namespace Drk.Hv.Tests.Boot;

/// <summary>Malformed kernel images are refused with a clear message, never a host crash.</summary>
public sealed class ElfKernelImageTests
{
    private static string ErrorOf(byte[] image, ulong ramSize = 16 << 20)
    {
        var e = Assert.Throws<BootException>(() => ElfKernelImage.Parse(image).ValidatePlacement(ramSize));
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Fact]
    public void AWellFormedImageParses()
    {
        var image = ElfKernelImage.Parse(ElfBuilder.Kernel().Build());
        Assert.Equal(0x10_0010UL, image.Entry);
        Assert.Equal(2, image.Segments.Count);
        Assert.Equal(0x20_2000UL, image.PhysicalEnd);
    }

    [Fact]
    public void EveryTruncationIsRefused()
    {
        var full = ElfBuilder.Kernel().Build();
        for (int length = 0; length < full.Length; length++)
        {
            var e = Assert.Throws<BootException>(() => ElfKernelImage.Parse(full.AsSpan(0, length)));
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
        }
    }

    [Fact]
    public void RandomCorruptionNeverEscapesAsAnotherException()
    {
        var full = ElfBuilder.Kernel().Build();
        var random = new Random(1234);
        for (int i = 0; i < 5000; i++)
        {
            var copy = (byte[])full.Clone();
            for (int k = 0; k < 4; k++) copy[random.Next(copy.Length)] = (byte)random.Next(256);
            try
            {
                ElfKernelImage.Parse(copy).ValidatePlacement(16 << 20);
            }
            catch (BootException)
            {
            }
        }
    }

    [Fact]
    public void BadMagicIsNamed()
    {
        var image = ElfBuilder.Kernel().Build();
        image[1] = (byte)'X';
        Assert.Contains("not an ELF file", ErrorOf(image));
    }

    [Fact]
    public void A32BitImageIsRefused() =>
        Assert.Contains("not a 64-bit ELF", ErrorOf(new ElfBuilder { Class = 1 }.Build()));

    [Fact]
    public void AnotherMachineIsRefused()
    {
        var b = ElfBuilder.Kernel();
        b.Machine = 183; // AArch64
        Assert.Contains("not for x86-64", ErrorOf(b.Build()));
    }

    [Fact]
    public void ASharedObjectIsRefused()
    {
        var b = ElfBuilder.Kernel();
        b.Type = 3;
        Assert.Contains("not an executable", ErrorOf(b.Build()));
    }

    [Fact]
    public void WrongProgramHeaderSizeIsRefused()
    {
        var b = ElfBuilder.Kernel();
        b.ProgramHeaderSize = 32;
        Assert.Contains("program headers of 32 bytes", ErrorOf(b.Build()));
    }

    [Fact]
    public void ASegmentOutsideRamIsRefused()
    {
        var b = ElfBuilder.Kernel();
        b.Segments.Add(new ElfBuilder.Segment(0xF0_0000, new byte[16], 0x20_0000, Flags: 6));
        Assert.Contains("outside RAM", ErrorOf(b.Build()));
    }

    [Fact]
    public void ASegmentWrappingTheAddressSpaceIsRefused()
    {
        var b = ElfBuilder.Kernel();
        b.Segments.Add(new ElfBuilder.Segment(0xFFFF_FFFF_FFFF_F000, new byte[16], 0x2000, Flags: 6));
        Assert.Contains("wraps", ErrorOf(b.Build()));
    }

    [Fact]
    public void ASegmentInLowMemoryIsRefused()
    {
        var b = ElfBuilder.Kernel();
        b.Segments.Add(new ElfBuilder.Segment(0x8000, new byte[16], 16, Flags: 6));
        Assert.Contains("below 1 MiB", ErrorOf(b.Build()));
    }

    [Fact]
    public void FileBytesPastTheEndAreRefused()
    {
        var image = ElfBuilder.Kernel().Build();
        BitConverter.TryWriteBytes(image.AsSpan(64 + 32), 0x10_0000UL); // segment 0 p_filesz
        BitConverter.TryWriteBytes(image.AsSpan(64 + 40), 0x10_0000UL); // p_memsz
        Assert.Contains("truncated", ErrorOf(image));
    }

    [Fact]
    public void MoreFileBytesThanMemoryBytesIsRefused()
    {
        var b = ElfBuilder.Kernel();
        b.Segments.Add(new ElfBuilder.Segment(0x30_0000, new byte[32], 16, Flags: 6));
        Assert.Contains("more file bytes", ErrorOf(b.Build()));
    }

    [Fact]
    public void OverlappingSegmentsAreRefused()
    {
        var b = ElfBuilder.Kernel();
        b.Segments.Add(new ElfBuilder.Segment(0x20_1000, new byte[16], 16, Flags: 6));
        Assert.Contains("overlaps", ErrorOf(b.Build()));
    }

    [Fact]
    public void AnEntryOutsideExecutableCodeIsRefused()
    {
        var b = ElfBuilder.Kernel();
        b.Entry = 0x20_0000; // the data segment
        Assert.Contains("entry point", ErrorOf(b.Build()));
    }

    [Fact]
    public void NoLoadableSegmentIsRefused()
    {
        var b = new ElfBuilder { Entry = 0x10_0000 };
        b.Segments.Add(new ElfBuilder.Segment(0x10_0000, new byte[4], 4, Type: 4)); // PT_NOTE
        Assert.Contains("no PT_LOAD", ErrorOf(b.Build()));
    }
}
