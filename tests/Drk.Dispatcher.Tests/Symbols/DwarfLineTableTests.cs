using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>The .debug_line reader against addr2line, on the kernel (DWARF 5 as gcc emits it here), the modules and objects built with other DWARF flavours.</summary>
public sealed class DwarfLineTableTests
{
    private const ulong ModuleBase = 0xffff_8880_0456_7000;

    [SkippableFact]
    public void KernelLinesMatchAddr2lineEvery97thByte()
    {
        var guest = GuestObjects.Require();
        var image = ElfImage.Parse(guest.Kernel);
        var lines = DwarfLineTable.Read(image);
        var addresses = new List<ulong>();
        foreach (var section in image.Sections)
            if (section.IsExecutable)
                for (var offset = 0UL; offset < section.Size; offset += 97)
                    addresses.Add(section.Address + offset);
        // Around the code: below, between and above the sections, nothing.
        addresses.Add(0);
        addresses.Add(image.Sections.First(s => s.Name == ".rodata").Address + 8);
        Assert.True(addresses.Count > 500, $"{addresses.Count} addresses");

        var found = AssertMatches(guest.KernelPath, lines, addresses, addresses, section: null, compareFullPath: true);
        Assert.True(found > addresses.Count * 9 / 10, $"only {found} of {addresses.Count} addresses have lines");
    }

    [SkippableFact]
    public void KernelFilesAreShownRelativeToTheCompilationDirectory()
    {
        var guest = GuestObjects.Require();
        var symbolizer = Symbolizer.ForKernel(guest.Kernel);
        Assert.True(symbolizer.TryFindSymbol("kmalloc", out var kmalloc));
        var location = symbolizer.Symbolize(kmalloc);
        Assert.Equal("kmalloc", location.Function);
        Assert.StartsWith("kernel/", location.File);
        Assert.EndsWith(".c", location.File);
        Assert.True(location.Line > 0);
        var line = Addr2line.Lookup(guest.KernelPath, [kmalloc])[0];
        Assert.Equal(line.Line, location.Line);
        Assert.EndsWith("/" + location.File, line.File);
    }

    [SkippableFact]
    public void ModuleLinesAtLoadAddressesMatchAddr2lineOnSectionOffsets()
    {
        var guest = GuestObjects.Require();
        foreach (var module in guest.Modules)
            AssertModuleMatches(module.Path, module.Bytes, step: 3, compareFullPath: true);
    }

    [SkippableTheory]
    [InlineData("-gdwarf-4")]
    [InlineData("-gdwarf-5")]
    [InlineData("-gdwarf-3")]
    public void ObjectsOfOtherDwarfFlavoursMatchAddr2line(string flags)
    {
        ExternalCommand.Require("gcc");
        var guest = GuestObjects.Require();
        var directory = Directory.CreateTempSubdirectory("drk-dwarf-");
        try
        {
            var source = Path.Combine(directory.FullName, "sample.c");
            File.WriteAllText(source, SampleSource);
            var obj = Path.Combine(directory.FullName, "sample.o");
            ExternalCommand.Run("gcc", [.. flags.Split(' '), "-O2", "-fno-pic", "-mcmodel=kernel", "-ffunction-sections", "-c", "sample.c", "-o", "sample.o"],
                                workingDirectory: directory.FullName);
            var bytes = File.ReadAllBytes(obj);
            // Before DWARF 5 the compilation directory is only in .debug_info, which the reader does not read.
            AssertModuleMatches(obj, bytes, step: 1, compareFullPath: flags.Contains("-gdwarf-5", StringComparison.Ordinal));
            Assert.NotNull(guest);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public void ExecutableWithDwarf4MatchesAddr2line()
    {
        ExternalCommand.Require("gcc");
        GuestObjects.Require();
        var directory = Directory.CreateTempSubdirectory("drk-dwarf-");
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "sample.c"), SampleSource);
            var exe = Path.Combine(directory.FullName, "sample");
            ExternalCommand.Run("gcc", ["-gdwarf-4", "-O2", "-nostdlib", "-static", "-no-pie", "-Wl,-e,sample_entry", "-Wl,--build-id=none", "sample.c", "-o", "sample"],
                                workingDirectory: directory.FullName);
            var image = ElfImage.Parse(File.ReadAllBytes(exe));
            var lines = DwarfLineTable.Read(image);
            var addresses = new List<ulong>();
            foreach (var section in image.Sections)
                if (section.IsExecutable)
                    for (var offset = 0UL; offset < section.Size; offset++)
                        addresses.Add(section.Address + offset);
            var found = AssertMatches(exe, lines, addresses, addresses, section: null, compareFullPath: false);
            Assert.True(found > addresses.Count / 2, $"only {found} of {addresses.Count} addresses have lines");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static void AssertModuleMatches(string path, byte[] bytes, int step, bool compareFullPath)
    {
        var image = ElfImage.Parse(bytes);
        var layout = ModuleLayout.Place(image, ModuleBase);
        var lines = DwarfLineTable.Read(image, layout);
        Assert.True(lines.RowCount > 0, $"{path}: no line rows");
        var total = 0;
        foreach (var section in image.Sections)
        {
            if (!section.IsExecutable || section.Size == 0)
                continue;
            var offsets = new List<ulong>();
            var addresses = new List<ulong>();
            for (var offset = 0UL; offset < section.Size; offset += (ulong)step)
            {
                offsets.Add(offset);
                addresses.Add(layout[section.Index] + offset);
            }
            total += AssertMatches(path, lines, offsets, addresses, section.Name, compareFullPath);
        }
        Assert.True(total > 0, $"{path}: no address has a line");
    }

    /// <summary>Checks every address against addr2line and returns how many have a line.</summary>
    private static int AssertMatches(string path, DwarfLineTable lines, IReadOnlyList<ulong> oracleAddresses, IReadOnlyList<ulong> addresses,
                                     string? section, bool compareFullPath)
    {
        var expected = Addr2line.Lookup(path, oracleAddresses, section);
        var found = 0;
        for (var i = 0; i < addresses.Count; i++)
        {
            var has = lines.TryFind(addresses[i], out var line);
            var where = $"{Path.GetFileName(path)} {section} 0x{oracleAddresses[i]:x}";
            if (expected[i].File is null)
            {
                Assert.False(has, $"{where}: addr2line knows no line, the reader says {line}");
                continue;
            }
            Assert.True(has, $"{where}: addr2line says {expected[i].File}:{expected[i].Line}, the reader finds nothing");
            if (compareFullPath)
                Assert.Equal((expected[i].File, expected[i].Line), (line.FullPath, line.Line));
            else
            {
                Assert.Equal(expected[i].Line, line.Line);
                Assert.EndsWith(line.File, expected[i].File);
            }
            found++;
        }
        return found;
    }

    private const string SampleSource = """
        static volatile int sink;

        static int __attribute__((noinline)) twice(int x)
        {
            return x * 2 + sink;
        }

        int sample_loop(int n)
        {
            int total = 0;
            for (int i = 0; i < n; i++)
                total += twice(i);
            return total;
        }

        static inline int inlined(int x)
        {
            if (x > 3)
                return x - 3;
            return x + sink;
        }

        void sample_entry(void)
        {
            sink = sample_loop(10) + inlined(sink);
            for (;;)
                ;
        }
        """;
}
