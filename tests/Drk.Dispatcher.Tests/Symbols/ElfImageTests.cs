using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>The ELF reader against readelf on the real guest kernel and module objects.</summary>
public sealed class ElfImageTests
{
    [SkippableFact]
    public void KernelSectionsMatchReadelf()
    {
        var guest = GuestObjects.Require();
        AssertSectionsMatch(guest.KernelPath, ElfImage.Parse(guest.Kernel));
    }

    [SkippableFact]
    public void ModuleSectionsMatchReadelf()
    {
        var guest = GuestObjects.Require();
        Assert.Contains(guest.Modules, m => m.Name == "good");
        foreach (var module in guest.Modules)
            AssertSectionsMatch(module.Path, ElfImage.Parse(module.Bytes));
    }

    [SkippableFact]
    public void KernelIsAnExecutableAndModulesAreRelocatable()
    {
        var guest = GuestObjects.Require();
        Assert.Equal(ElfImage.TypeExecutable, ElfImage.Parse(guest.Kernel).FileType);
        foreach (var module in guest.Modules)
            Assert.True(ElfImage.Parse(module.Bytes).IsRelocatable, module.Name);
    }

    [SkippableFact]
    public void RawSymbolsMatchReadelf()
    {
        var guest = GuestObjects.Require();
        AssertRawSymbolsMatch(guest.KernelPath, ElfImage.Parse(guest.Kernel));
        foreach (var module in guest.Modules)
            AssertRawSymbolsMatch(module.Path, ElfImage.Parse(module.Bytes));
    }

    private static void AssertSectionsMatch(string path, ElfImage image)
    {
        var expected = Readelf.Sections(path);
        Assert.Equal(expected.Count, image.Sections.Count);
        foreach (var e in expected)
        {
            var actual = image.Sections[e.Index];
            Assert.Equal((e.Name, e.Address, e.Offset, e.Size, e.IsAllocated, e.IsExecutable),
                         (actual.Name, actual.Address, actual.Offset, actual.Size, actual.IsAllocated, actual.IsExecutable));
        }
    }

    private static void AssertRawSymbolsMatch(string path, ElfImage image)
    {
        var expected = Readelf.Symbols(path);
        var actual = image.ReadSymbols();
        Assert.Equal(expected.Count, actual.Length);
        foreach (var e in expected)
        {
            var a = actual[e.Index];
            var type = a.Type switch
            {
                ElfSymbolType.NoType => "NOTYPE",
                ElfSymbolType.Object => "OBJECT",
                ElfSymbolType.Function => "FUNC",
                ElfSymbolType.Section => "SECTION",
                ElfSymbolType.File => "FILE",
                _ => a.Type.ToString(),
            };
            var binding = a.Binding.ToString().ToUpperInvariant();
            int? section = a.IsInSection ? a.SectionIndex : null;
            // readelf names a section symbol (st_name 0) after its section.
            var name = a.Type == ElfSymbolType.Section ? image.Sections[a.SectionIndex].Name : a.Name;
            Assert.Equal((e.Name, e.Value, e.Size, e.Type, e.Binding, e.Section), (name, a.Value, a.Size, type, binding, section));
        }
    }
}
