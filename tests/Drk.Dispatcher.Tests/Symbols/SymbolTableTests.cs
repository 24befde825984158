using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>Symbols at run-time addresses, and which symbol covers an address, against readelf.</summary>
public sealed class SymbolTableTests
{
    private const ulong ModuleBase = 0xffff_8880_0123_4000;

    [SkippableFact]
    public void KernelSymbolsAreReadelfsAllocatedSymbols()
    {
        var guest = GuestObjects.Require();
        var image = ElfImage.Parse(guest.Kernel);
        var sections = Readelf.Sections(guest.KernelPath);
        var expected = Expected(Readelf.Symbols(guest.KernelPath), s => sections[s.Section!.Value].IsAllocated ? s.Value : null);
        var table = SymbolTable.Build(image, []);
        Assert.Equal(expected, Actual(table));
    }

    [SkippableFact]
    public void ModuleSymbolsAreAtTheirSectionsLoadAddresses()
    {
        var guest = GuestObjects.Require();
        foreach (var module in guest.Modules)
        {
            var image = ElfImage.Parse(module.Bytes);
            var layout = ModuleLayout.Place(image, ModuleBase);
            var expected = Expected(Readelf.Symbols(module.Path), s => layout[s.Section!.Value] != 0 ? layout[s.Section!.Value] + s.Value : null);
            var table = SymbolTable.Build(image, layout);
            Assert.True(expected.Count > 0, module.Name);
            Assert.Equal(expected, Actual(table));
        }
    }

    [SkippableFact]
    public void EveryKernelFunctionCoversItsBytesWithTheInnermostFunction()
    {
        var guest = GuestObjects.Require();
        var table = SymbolTable.Build(ElfImage.Parse(guest.Kernel), []);
        var functions = Readelf.Symbols(guest.KernelPath).Where(s => s.Type == "FUNC" && s.Size > 0 && s.Section is not null).ToList();
        Assert.True(functions.Count > 100, $"only {functions.Count} kernel functions");
        AssertCoveredByFunctions(table, functions);
    }

    [SkippableFact]
    public void EveryModuleFunctionCoversItsBytes()
    {
        var guest = GuestObjects.Require();
        foreach (var module in guest.Modules)
        {
            var image = ElfImage.Parse(module.Bytes);
            var layout = ModuleLayout.Place(image, ModuleBase);
            var table = SymbolTable.Build(image, layout);
            var functions = Readelf.Symbols(module.Path).Where(s => s.Type == "FUNC" && s.Size > 0 && s.Section is not null).ToList();
            Assert.NotEmpty(functions);
            AssertCoveredByFunctions(table, functions.Select(f => f with { Value = layout[f.Section!.Value] + f.Value }).ToList());
        }
    }

    [SkippableFact]
    public void AssemblyLabelsWithoutSizeCoverUpToTheNextSymbol()
    {
        var guest = GuestObjects.Require();
        var table = SymbolTable.Build(ElfImage.Parse(guest.Kernel), []);
        var symbols = Readelf.Symbols(guest.KernelPath);
        var sections = Readelf.Sections(guest.KernelPath);
        // entry.S's interrupt_common carries no .size: the bytes after it are still attributed to it.
        var label = symbols.Single(s => s.Name == "interrupt_common");
        Assert.Equal(0UL, label.Size);
        Assert.True(sections[label.Section!.Value].IsExecutable);
        var next = symbols.Where(s => s.Section == label.Section && s.Value > label.Value).Min(s => s.Value);
        Assert.True(table.TryFind(label.Value + 1, out var name, out var start));
        Assert.Equal(("interrupt_common", label.Value), (name, start));
        Assert.True(table.TryFind(next - 1, out name, out _));
        Assert.Equal("interrupt_common", name);
    }

    [SkippableFact]
    public void AliasesResolveToTheFirstNameAndBothNamesAreFound()
    {
        var guest = GuestObjects.Require();
        var good = guest.Modules.Single(m => m.Name == "good");
        var image = ElfImage.Parse(good.Bytes);
        var layout = ModuleLayout.Place(image, ModuleBase);
        var table = SymbolTable.Build(image, layout);
        var symbols = Readelf.Symbols(good.Path);
        var init = symbols.Single(s => s.Name == "init_module");
        var local = symbols.Single(s => s.Name != "init_module" && s.Type == "FUNC" && s.Value == init.Value && s.Section == init.Section);
        var address = layout[init.Section!.Value] + init.Value;
        Assert.True(table.TryFind(address + 3, out var name, out var start));
        Assert.Equal((local.Name, address), (name, start));
        Assert.True(table.TryFindAddress("init_module", out var byName));
        Assert.Equal(address, byName);
        Assert.True(table.TryFindAddress(local.Name, out byName));
        Assert.Equal(address, byName);
    }

    private static void AssertCoveredByFunctions(SymbolTable table, IReadOnlyList<Readelf.Symbol> functions)
    {
        foreach (var f in functions)
        {
            foreach (var address in new[] { f.Value, f.Value + f.Size / 2, f.Value + f.Size - 1 })
            {
                Assert.True(table.TryFind(address, out var name, out var start), $"0x{address:x} in {f.Name}");
                var covering = functions.Where(g => g.Value <= address && address < g.Value + g.Size).ToList();
                var innermost = covering.Max(g => g.Value);
                Assert.Contains(covering, g => g.Name == name && g.Value == start);
                Assert.Equal(innermost, start);
            }
        }
    }

    private static List<(string, ulong, ulong, string)> Expected(IReadOnlyList<Readelf.Symbol> symbols, Func<Readelf.Symbol, ulong?> address)
    {
        var list = new List<(string, ulong, ulong, string)>();
        foreach (var s in symbols)
        {
            if (s.Section is null || s.Name.Length == 0 || s.Type is not ("FUNC" or "OBJECT" or "NOTYPE"))
                continue;
            if (address(s) is { } a)
                list.Add((s.Name, a, s.Size, s.Type));
        }
        list.Sort();
        return list;
    }

    private static List<(string, ulong, ulong, string)> Actual(SymbolTable table)
    {
        var list = table.Symbols.Select(s => (s.Name, s.Address, s.Size, s.Type switch
        {
            ElfSymbolType.Function => "FUNC",
            ElfSymbolType.Object => "OBJECT",
            _ => "NOTYPE",
        })).ToList();
        list.Sort();
        return list;
    }
}
