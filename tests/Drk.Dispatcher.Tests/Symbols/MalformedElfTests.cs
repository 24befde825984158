using System.Buffers.Binary;
using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>Broken objects give a <see cref="SymbolFileException"/> that says what is wrong, never an index or argument exception.</summary>
public sealed class MalformedElfTests
{
    private const ulong ModuleBase = 0xffff_8880_0300_0000;

    [Fact]
    public void EmptyAndShortFilesAreRejected()
    {
        Assert.Contains("fewer than the 64", Assert.Throws<SymbolFileException>(() => ElfImage.Parse(Array.Empty<byte>())).Message);
        Assert.Contains("10 bytes", Assert.Throws<SymbolFileException>(() => ElfImage.Parse(new byte[10])).Message);
    }

    [SkippableFact]
    public void BadIdentificationIsNamed()
    {
        var good = Good();
        Assert.Contains("bad magic", Reject(Patched(good, b => b[1] = (byte)'X')));
        Assert.Contains("ELFCLASS64", Reject(Patched(good, b => b[4] = 1)));
        Assert.Contains("little-endian", Reject(Patched(good, b => b[5] = 2)));
        Assert.Contains("not x86-64", Reject(Patched(good, b => b[18] = 3)));
        Assert.Contains("section header size", Reject(Patched(good, b => b[58] = 40)));
    }

    [SkippableFact]
    public void SectionHeaderTableOutsideTheFileIsRejected()
    {
        var good = Good();
        Assert.Contains("beyond the end of the file", Reject(Patched(good, b => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(40), (ulong)b.Length - 10))));
        Assert.Contains("beyond the end of the file", Reject(Patched(good, b => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(40), ulong.MaxValue - 8))));
        Assert.Contains("cannot fit", Reject(Patched(good, b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(60), 0xfff0))));
        Assert.Contains("section-name table index", Reject(Patched(good, b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(62), 200))));
    }

    [SkippableFact]
    public void SectionDataOutsideTheFileIsRejectedWithTheSectionNumber()
    {
        var good = Good();
        var symtab = ElfImage.Parse(good).FindSection(".symtab")!.Value;
        var bad = Patched(good, b => BinaryPrimitives.WriteUInt64LittleEndian(SectionHeader(b, symtab.Index)[24..], (ulong)b.Length - 16));
        Assert.Contains($"section [{symtab.Index}]", Reject(bad));
        bad = Patched(good, b => BinaryPrimitives.WriteUInt64LittleEndian(SectionHeader(b, symtab.Index)[32..], ulong.MaxValue));
        Assert.Contains($"section [{symtab.Index}]", Reject(bad));
    }

    [SkippableFact]
    public void BrokenSymbolTablesAreRejected()
    {
        var good = Good();
        var image = ElfImage.Parse(good);
        var symtab = image.FindSection(".symtab")!.Value;
        Assert.Contains("entry size", Reject(Patched(good, b => BinaryPrimitives.WriteUInt64LittleEndian(SectionHeader(b, symtab.Index)[56..], 16))));
        Assert.Contains("string table index", Reject(Patched(good, b => BinaryPrimitives.WriteUInt32LittleEndian(SectionHeader(b, symtab.Index)[40..], 999))));
        Assert.Contains("multiple of 24", Reject(Patched(good, b => BinaryPrimitives.WriteUInt64LittleEndian(SectionHeader(b, symtab.Index)[32..], symtab.Size - 5))));
        // Symbol 1's name pointing past the string table.
        Assert.Contains("outside its string table", Reject(Patched(good, b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)symtab.Offset + 24), 0x7fff_0000))));
    }

    [SkippableFact]
    public void TheKernelsOwnTruncatedTestModuleIsRejected()
    {
        GuestObjects.Require();
        var path = Path.Combine(GuestObjects.BuildDirectory()!, "modules", "bad_truncated.o");
        Skip.IfNot(File.Exists(path), "guest/build/modules/bad_truncated.o is not built");
        Assert.Contains("beyond the end of the file", Reject(File.ReadAllBytes(path)));
    }

    [SkippableFact]
    public void EveryTruncationOfAModuleIsRejectedCleanly()
    {
        var good = Good();
        for (var length = 0; length < good.Length; length += 3)
            Reject(good.AsSpan(0, length).ToArray());
    }

    [SkippableFact]
    public void RandomlyCorruptedModulesNeverThrowAnythingElse()
    {
        var good = Good();
        var random = new Random(20261205);
        var rejected = 0;
        for (var trial = 0; trial < 3000; trial++)
        {
            var bytes = (byte[])good.Clone();
            for (var n = random.Next(1, 5); n > 0; n--)
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            if (TryLoad(bytes) is not null)
                rejected++;
        }
        Assert.InRange(rejected, 1, 2999);
    }

    [SkippableFact]
    public void CorruptedLineTablesCostTheLinesOnly()
    {
        var good = Good();
        var line = ElfImage.Parse(good).FindSection(".debug_line")!.Value;
        var random = new Random(5);
        var broken = 0;
        for (var trial = 0; trial < 2000; trial++)
        {
            var bytes = (byte[])good.Clone();
            for (var n = random.Next(1, 4); n > 0; n--)
                bytes[(int)line.Offset + random.Next((int)line.Size)] = (byte)random.Next(256);
            var image = ElfImage.Parse(bytes);
            var module = ModuleSymbols.FromRelocatable("good", image, ModuleLayout.Place(image, ModuleBase));
            Assert.NotEmpty(module.Symbols.Symbols);
            if (module.LineError is not null)
                broken++;
            for (var a = ModuleBase; a < ModuleBase + 0x1000; a += 5)
                module.Lines.TryFind(a, out _);
        }
        Assert.InRange(broken, 1, 1999);
    }

    [SkippableFact]
    public void UnsupportedDebugRelocationIsNamed()
    {
        var good = Good();
        var image = ElfImage.Parse(good);
        var rela = image.FindRelocationsFor(image.FindSection(".debug_line")!.Value.Index)!.Value;
        // The first entry's type becomes R_X86_64_PC32 (2).
        var bytes = Patched(good, b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)rela.Offset + 8), 2));
        var patched = ElfImage.Parse(bytes);
        var module = ModuleSymbols.FromRelocatable("good", patched, ModuleLayout.Place(patched, ModuleBase));
        Assert.Contains("relocation type 2", module.LineError);
    }

    [SkippableFact]
    public void WrongNumberOfSectionAddressesIsTheCallersMistake()
    {
        var image = ElfImage.Parse(Good());
        Assert.Throws<ArgumentException>(() => ModuleSymbols.FromRelocatable("good", image, new ulong[image.Sections.Count - 1]));
        Assert.Throws<SymbolFileException>(() => ModuleSymbols.FromExecutable("good", image));
    }

    /// <summary>Loads like the symbolizer does; returns the rejection message or null. Any other exception fails the test.</summary>
    private static string? TryLoad(byte[] bytes)
    {
        try
        {
            var image = ElfImage.Parse(bytes);
            if (!image.IsRelocatable)
                return "not relocatable";
            var module = ModuleSymbols.FromRelocatable("m", image, ModuleLayout.Place(image, ModuleBase));
            for (var a = ModuleBase; a < ModuleBase + 0x2000; a += 3)
                module.Describe(a);
            return null;
        }
        catch (SymbolFileException e)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
            return e.Message;
        }
    }

    private static string Reject(byte[] bytes)
    {
        var message = TryLoad(bytes);
        Assert.NotNull(message);
        return message;
    }

    private static byte[] Good()
    {
        var guest = GuestObjects.Require();
        return guest.Modules.Single(m => m.Name == "good").Bytes;
    }

    private static byte[] Patched(byte[] original, Action<byte[]> patch)
    {
        var copy = (byte[])original.Clone();
        patch(copy);
        return copy;
    }

    private static Span<byte> SectionHeader(byte[] file, int index)
    {
        var table = (int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(40));
        return file.AsSpan(table + index * 64, 64);
    }
}
