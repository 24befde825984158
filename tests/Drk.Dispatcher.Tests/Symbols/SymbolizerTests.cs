using System.Text.RegularExpressions;
using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>The symbolizer over the real kernel and modules loaded and unloaded at run time, against readelf and addr2line.</summary>
public sealed class SymbolizerTests
{
    private const ulong ModuleBase = 0xffff_8880_0200_0000;

    [SkippableTheory]
    [InlineData("kmalloc")]
    [InlineData("kfree")]
    [InlineData("copy_to_user")]
    [InlineData("drk_module_event")]
    public void KernelFunctionsNeededForWrappingAreFoundAndSymbolised(string name)
    {
        var guest = GuestObjects.Require();
        var symbolizer = Symbolizer.ForKernel(guest.Kernel);
        var expected = Readelf.Symbols(guest.KernelPath).Single(s => s.Name == name && s.Type == "FUNC");
        Assert.True(symbolizer.TryFindSymbol(name, out var address));
        Assert.Equal(expected.Value, address);
        Assert.True(symbolizer.TryFindSymbol("kernel", name, out address));
        Assert.Equal(expected.Value, address);

        var inside = address + Math.Min(1, expected.Size - 1);
        var location = symbolizer.Symbolize(inside);
        var line = Addr2line.Lookup(guest.KernelPath, [inside])[0];
        Assert.Equal((inside, "kernel", name, inside - address), (location.Address, location.Module, location.Function, location.Offset));
        Assert.NotNull(line.File);
        Assert.Equal(line.Line, location.Line);
        Assert.EndsWith("/" + location.File, line.File);
        Assert.True(symbolizer.IsCode(inside));
    }

    [SkippableFact]
    public void UnknownAddressesAndDataAreReportedAsSuch()
    {
        var guest = GuestObjects.Require();
        var symbolizer = Symbolizer.ForKernel(guest.Kernel);
        Assert.Equal(SourceLocation.Unknown(0x1234), symbolizer.Symbolize(0x1234));
        Assert.Equal(SourceLocation.Unknown(0xffff_8880_0000_0000), symbolizer.Symbolize(0xffff_8880_0000_0000));
        Assert.False(symbolizer.IsCode(0x1234));
        Assert.False(symbolizer.TryFindSymbol("no_such_symbol_anywhere", out _));

        var rodata = Readelf.Sections(guest.KernelPath).Single(s => s.Name == ".rodata");
        Assert.False(symbolizer.IsCode(rodata.Address));
        Assert.Equal("kernel", symbolizer.Symbolize(rodata.Address).Module);
    }

    [SkippableFact]
    public void ModuleSymbolisesAtItsLoadAddressUntilItIsRemoved()
    {
        var guest = GuestObjects.Require();
        var symbolizer = Symbolizer.ForKernel(guest.Kernel);
        var good = guest.Modules.Single(m => m.Name == "good");
        var image = ElfImage.Parse(good.Bytes);
        var layout = ModuleLayout.Place(image, ModuleBase);
        var text = ModuleLayout.SectionIndex(image, ".text");
        var function = Readelf.Symbols(good.Path).First(s => s.Type == "FUNC" && s.Size > 8 && s.Section == text);

        var module = symbolizer.AddModule("good", good.Bytes, layout);
        Assert.Null(module.LineError);
        Assert.Equal([module], symbolizer.Modules);
        var address = layout[text] + function.Value + 5;
        var location = symbolizer.Symbolize(address);
        var line = Addr2line.Lookup(good.Path, [function.Value + 5], ".text")[0];
        Assert.Equal(("good", function.Name, 5UL, "modules/good.c", line.Line), (location.Module, location.Function, location.Offset, location.File, location.Line));
        Assert.True(symbolizer.IsCode(address));
        Assert.Equal(symbolizer.Kernel, symbolizer.FindModule(symbolizer.TryFindSymbol("kmalloc", out var k) ? k : 0));
        Assert.True(symbolizer.TryFindSymbol("good", "init_module", out var init));
        Assert.True(symbolizer.TryFindSymbol("init_module", out var anyInit));
        Assert.Equal(init, anyInit);

        Assert.True(symbolizer.RemoveModule("good"));
        Assert.False(symbolizer.RemoveModule("good"));
        Assert.Empty(symbolizer.Modules);
        Assert.Equal(SourceLocation.Unknown(address), symbolizer.Symbolize(address));
        Assert.False(symbolizer.TryFindSymbol("init_module", out _));
    }

    [SkippableFact]
    public void AnotherModuleLoadedAtTheSameAddressSymbolisesAsTheNewOne()
    {
        var guest = GuestObjects.Require();
        var symbolizer = Symbolizer.ForKernel(guest.Kernel);
        var good = guest.Modules.Single(m => m.Name == "good");
        var chardev = guest.Modules.Single(m => m.Name == "chardev");
        var goodImage = ElfImage.Parse(good.Bytes);
        var chardevImage = ElfImage.Parse(chardev.Bytes);
        var goodLayout = TextAt(goodImage, ModuleBase);
        var chardevLayout = TextAt(chardevImage, ModuleBase);
        var address = chardevLayout[ModuleLayout.SectionIndex(chardevImage, ".text")];
        Assert.Equal(goodLayout[ModuleLayout.SectionIndex(goodImage, ".text")], address);

        symbolizer.AddModule("good", good.Bytes, goodLayout);
        Assert.Equal("good", symbolizer.Symbolize(address).Module);
        symbolizer.RemoveModule("good");
        symbolizer.AddModule("chardev", chardev.Bytes, chardevLayout);
        var location = symbolizer.Symbolize(address);
        Assert.Equal("chardev", location.Module);
        Assert.Equal(Readelf.Symbols(chardev.Path).First(s => s.Type == "FUNC" && s.Value == 0 && s.Section == ModuleLayout.SectionIndex(chardevImage, ".text")).Name,
                     location.Function);
        Assert.StartsWith("modules/chardev.c", location.File);

        // A missed unload event: loading over a stale module replaces it.
        symbolizer.AddModule("good", good.Bytes, goodLayout);
        Assert.Equal(["good"], symbolizer.Modules.Select(m => m.Name));
        Assert.Equal("good", symbolizer.Symbolize(address).Module);
    }

    [SkippableFact]
    public void ModulesWithInterleavedSectionsAreToldApart()
    {
        var guest = GuestObjects.Require();
        var symbolizer = Symbolizer.ForKernel(guest.Kernel);
        var loaded = new List<(GuestModuleObject Module, ulong[] Layout)>();
        var modules = guest.Modules.Where(m => !m.Name.StartsWith("bad_", StringComparison.Ordinal)).ToList();
        Assert.True(modules.Count >= 3, $"{modules.Count} modules");
        // Module m's k-th section goes to ModuleBase + (k * modules + m) * 64 KiB: every module's sections sit between the others'.
        for (var m = 0; m < modules.Count; m++)
        {
            var image = ElfImage.Parse(modules[m].Bytes);
            var layout = new ulong[image.Sections.Count];
            var k = 0;
            foreach (var section in image.Sections)
                if (section.IsAllocated && section.Size > 0)
                    layout[section.Index] = ModuleBase + (ulong)(k++ * modules.Count + m) * 0x10000;
            symbolizer.AddModule(modules[m].Name, modules[m].Bytes, layout);
            loaded.Add((modules[m], layout));
        }
        Assert.Equal(modules.Count, symbolizer.Modules.Count);
        foreach (var (module, layout) in loaded)
        {
            foreach (var f in Readelf.Symbols(module.Path).Where(s => s.Type == "FUNC" && s.Size > 0 && s.Section is not null))
            {
                var location = symbolizer.Symbolize(layout[f.Section!.Value] + f.Value + f.Size - 1);
                Assert.Equal(module.Name, location.Module);
                Assert.Equal(f.Size - 1, location.Offset);
                Assert.True(symbolizer.TryFindSymbol(module.Name, location.Function!, out var start));
                Assert.Equal(layout[f.Section!.Value] + f.Value, start);
            }
        }
    }

    [SkippableFact]
    public void ReturnAddressIsAttributedToTheCall()
    {
        var guest = GuestObjects.Require();
        var symbolizer = Symbolizer.ForKernel(guest.Kernel);
        var f = Readelf.Symbols(guest.KernelPath).First(s => s.Name == "kmalloc");
        var end = f.Value + f.Size;
        var atReturn = symbolizer.SymbolizeReturnAddress(end);
        Assert.Equal((end, "kmalloc", f.Size), (atReturn.Address, atReturn.Function, atReturn.Offset));
        var line = Addr2line.Lookup(guest.KernelPath, [end - 1])[0];
        Assert.Equal(line.Line, atReturn.Line);
        Assert.NotEqual("kmalloc", symbolizer.Symbolize(end).Function);
    }

    [SkippableFact]
    public void ToStringShowsFunctionModuleAndLine()
    {
        var guest = GuestObjects.Require();
        var symbolizer = Symbolizer.ForKernel(guest.Kernel);
        Assert.True(symbolizer.TryFindSymbol("kmalloc", out var kmalloc));
        var text = symbolizer.Symbolize(kmalloc + 4).ToString();
        Assert.Matches(new Regex(@"^0x[0-9a-f]{16} kmalloc\+0x4 \[kernel\] \(kernel/[a-z_]+\.c:\d+\)$"), text);
        Assert.StartsWith($"0x{kmalloc:x16} kmalloc [kernel] (kernel/", symbolizer.Symbolize(kmalloc).ToString());
    }

    [SkippableFact]
    public void LookupsAllocateNothing()
    {
        var guest = GuestObjects.Require();
        var symbolizer = Symbolizer.ForKernel(guest.Kernel);
        var good = guest.Modules.Single(m => m.Name == "good");
        var layout = ModuleLayout.Place(ElfImage.Parse(good.Bytes), ModuleBase);
        symbolizer.AddModule("good", good.Bytes, layout);
        Assert.True(symbolizer.TryFindSymbol("kmalloc", out var kmalloc));
        Assert.True(symbolizer.TryFindSymbol("good", "init_module", out var init));
        ulong sum = 0;
        for (var i = 0; i < 5_000; i++)
            sum += Lookups(symbolizer, kmalloc, init);
        Assert.Equal(0, AllocationProbe.FewestBytes(() =>
        {
            for (var i = 0; i < 10_000; i++)
                sum += Lookups(symbolizer, kmalloc, init);
        }));
        Assert.NotEqual(0UL, sum);
    }

    [SkippableFact]
    public void BrokenLineTableLeavesTheModuleWithSymbolsButNoLines()
    {
        var guest = GuestObjects.Require();
        var good = guest.Modules.Single(m => m.Name == "good");
        var bytes = (byte[])good.Bytes.Clone();
        var image = ElfImage.Parse(bytes);
        var line = image.FindSection(".debug_line")!.Value;
        bytes[(int)line.Offset + 4] = 0x63; // DWARF version 99
        var symbolizer = Symbolizer.ForKernel(guest.Kernel);
        var module = symbolizer.AddModule("good", bytes, ModuleLayout.Place(image, ModuleBase));
        Assert.Contains("version 99", module.LineError);
        Assert.True(symbolizer.TryFindSymbol("good", "init_module", out var init));
        var location = symbolizer.Symbolize(init);
        Assert.Equal(("good", false), (location.Module, location.HasLine));
        Assert.True(location.HasFunction);
    }

    /// <summary>The layout of <see cref="ModuleLayout.Place"/> moved so that .text starts at <paramref name="text"/>.</summary>
    private static ulong[] TextAt(ElfImage image, ulong text)
    {
        var layout = ModuleLayout.Place(image, ModuleBase);
        var delta = text - layout[ModuleLayout.SectionIndex(image, ".text")];
        for (var i = 0; i < layout.Length; i++)
            if (layout[i] != 0)
                layout[i] += delta;
        return layout;
    }

    private static ulong Lookups(Symbolizer symbolizer, ulong kmalloc, ulong init)
    {
        var a = symbolizer.Symbolize(kmalloc + 3);
        var b = symbolizer.Symbolize(init + 2);
        var c = symbolizer.SymbolizeReturnAddress(kmalloc + 7);
        symbolizer.TryFindSymbol("kfree", out var kfree);
        return a.Offset + b.Offset + c.Offset + (ulong)a.Line + (ulong)b.Line + kfree + (symbolizer.IsCode(init) ? 1UL : 0);
    }
}
