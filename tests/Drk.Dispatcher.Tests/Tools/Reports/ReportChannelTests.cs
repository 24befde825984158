using System.Text.Json;
using Drk.Dispatcher.Tools.Reports;

namespace Drk.Dispatcher.Tests.Tools.Reports;

/// <summary>Folding, text, print limit, summary and JSON lines of <see cref="ReportChannel"/>.</summary>
public sealed class ReportChannelTests
{
    private const ulong Kernel = 0xffff_ffff_8010_0000;

    // Where the module happens to be loaded differs between runs; nothing in a title may depend on it.
    private static FakeSymbolizer Symbols(ulong moduleBase) => new FakeSymbolizer()
        .Add(Kernel + 0x1000, 0x100, "kernel", "kmalloc", "kernel/slab.c", 80)
        .Add(Kernel + 0x1200, 0x100, "kernel", "kfree", "kernel/slab.c", 120)
        .Add(Kernel + 0x2000, 0x200, "kernel", "module_init_call", "kernel/module.c", 300)
        .Add(moduleBase + 0x40, 0x80, "badmod", "overflow_test", "badmod.c", 10)
        .Add(moduleBase + 0xc0, 0x80, "badmod", "uaf_test", "badmod.c", 40);

    private static ErrorReport Overflow(ulong moduleBase, ulong address, int vcpu = 0) => new()
    {
        Kind = ErrorKinds.OutOfBounds,
        Access = AccessKind.Write,
        Size = 8,
        Address = address,
        Rip = moduleBase + 0x40 + 0x14,
        Vcpu = vcpu,
        Stack = [Kernel + 0x2000 + 0x31],
        Allocation = new MemoryBlockContext { Address = 0xffff_8880_0012_3400, Size = 16, Stack = [moduleBase + 0x40 + 0x9] },
    };

    [Fact]
    public void RepeatsFoldByKindAccessAndTopFrameWhateverTheDataAddressOrVcpu()
    {
        var output = new StringWriter();
        var channel = new ReportChannel(output, Symbols(0xffff_ffff_c000_0000));
        Assert.True(channel.Report(Overflow(0xffff_ffff_c000_0000, 0xffff_8880_0012_3410)));
        Assert.False(channel.Report(Overflow(0xffff_ffff_c000_0000, 0xffff_8880_0045_6710, vcpu: 1)));
        Assert.False(channel.Report(Overflow(0xffff_ffff_c000_0000, 0xffff_8880_0000_0010)));
        Assert.True(channel.Report(new ErrorReport { Kind = ErrorKinds.OutOfBounds, Access = AccessKind.Read, Size = 8, Address = 1, Rip = 0xffff_ffff_c000_0054 }));
        Assert.True(channel.Report(new ErrorReport { Kind = ErrorKinds.OutOfBounds, Access = AccessKind.Write, Size = 8, Address = 1, Rip = 0xffff_ffff_c000_0058 }));

        Assert.Equal(5, channel.ErrorCount);
        Assert.Equal(3, channel.ContextCount);
        Assert.Equal("out-of-bounds write overflow_test+0x14 [badmod]", channel.Contexts[0].Title);
        Assert.Equal(3, channel.Contexts[0].Count);
        Assert.Equal("out-of-bounds read overflow_test+0x14 [badmod]", channel.Contexts[1].Title);
        Assert.Equal("out-of-bounds write overflow_test+0x18 [badmod]", channel.Contexts[2].Title);
        Assert.Equal(new long[] { 1, 4, 5 }, channel.Contexts.Select(c => c.FirstSequence));
        Assert.Equal(3, output.ToString().Split('\n').Count(l => l.StartsWith("==drk== out-of-bounds")));
    }

    [Fact]
    public void ARepeatSymbolisesOnlyItsTitleFrames()
    {
        var symbols = Symbols(0xffff_ffff_c000_0000);
        var channel = new ReportChannel(TextWriter.Null, symbols);
        channel.Report(Overflow(0xffff_ffff_c000_0000, 0x10));
        Assert.Equal(3, symbols.Queries.Count); // RIP, one return address, one allocation frame
        symbols.Queries.Clear();
        channel.Report(Overflow(0xffff_ffff_c000_0000, 0x20));
        Assert.Equal(new[] { 0xffff_ffff_c000_0054UL }, symbols.Queries);
        Assert.Equal(2, channel.Contexts[0].Frames.Count);
    }

    [Fact]
    public void ARunWithTheModuleLoadedElsewhereProducesTheSameTitles()
    {
        string[] TitlesFor(ulong moduleBase)
        {
            var channel = new ReportChannel(TextWriter.Null, Symbols(moduleBase));
            channel.Report(Overflow(moduleBase, 0xffff_8880_0012_3410));
            channel.Report(new ErrorReport { Kind = ErrorKinds.UseAfterFree, Access = AccessKind.Read, Size = 4, Address = 5, Rip = moduleBase + 0xc0 + 0x22 });
            return channel.Contexts.Select(c => c.Title).ToArray();
        }

        string[] first = TitlesFor(0xffff_ffff_c000_0000), second = TitlesFor(0xffff_ffff_c012_3000);
        Assert.Equal(first, second);
        Assert.DoesNotContain(first, t => t.Contains("0x", StringComparison.Ordinal) && !t.Contains('+'));
    }

    [Fact]
    public void MoreTitleFramesSplitAHelperByItsCaller()
    {
        var symbols = Symbols(0xffff_ffff_c000_0000);
        ErrorReport FromCaller(ulong returnAddress) => new()
        {
            Kind = ErrorKinds.OutOfBounds, Access = AccessKind.Read, Size = 1, Address = 9,
            Rip = Kernel + 0x1010, Stack = [returnAddress],
        };
        var oneFrame = new ReportChannel(TextWriter.Null, symbols);
        var twoFrames = new ReportChannel(TextWriter.Null, symbols) { TitleFrames = 2 };
        foreach (var channel in new[] { oneFrame, twoFrames })
        {
            channel.Report(FromCaller(Kernel + 0x2010));
            channel.Report(FromCaller(Kernel + 0x2050));
        }
        Assert.Equal(1, oneFrame.ContextCount);
        Assert.Equal(2, twoFrames.ContextCount);
        Assert.Equal("out-of-bounds read kmalloc+0x10 [kernel] < module_init_call+0x10 [kernel]", twoFrames.Contexts[0].Title);
    }

    [Fact]
    public void AnUnsymbolisedFrameFallsBackToItsAddress()
    {
        var channel = new ReportChannel(TextWriter.Null, new FakeSymbolizer());
        channel.Report(new ErrorReport { Kind = ErrorKinds.CfiViolation, Access = AccessKind.Execute, Address = 0x1234, Rip = 0xffff_ffff_8123_4567 });
        Assert.Equal("cfi-violation execute 0xffffffff81234567", channel.Contexts[0].Title);
    }

    [Fact]
    public void TheFirstOccurrenceIsPrintedWithStacksBlockAndDetails()
    {
        const ulong moduleBase = 0xffff_ffff_c000_0000;
        var symbols = Symbols(moduleBase);
        var output = new StringWriter();
        var channel = new ReportChannel(output, symbols);
        channel.Report(new ErrorReport
        {
            Kind = ErrorKinds.UseAfterFree,
            Access = AccessKind.Write,
            Size = 8,
            Address = 0xffff_8880_0012_3408,
            Rip = moduleBase + 0xc0 + 0x14,
            Vcpu = 1,
            Stack = [Kernel + 0x2000 + 0x31, 0xffff_ffff_8000_0005],
            Allocation = new MemoryBlockContext { Address = 0xffff_8880_0012_3400, Size = 16, Stack = [moduleBase + 0xc0 + 0x9] },
            Free = new MemoryBlockContext { Address = 0xffff_8880_0012_3400, Size = 16, Stack = [moduleBase + 0xc0 + 0x11] },
            Details = "freed 3 instructions earlier\nsecond line",
        });
        string expected = string.Join("\n",
            "==drk== use-after-free: write of size 8 at 0xffff888000123408 (vCPU 1)",
            "==drk==    at 0xffffffffc00000d4 uaf_test+0x14 [badmod] (badmod.c:45)",
            "==drk==    by 0xffffffff80102031 module_init_call+0x31 [kernel] (kernel/module.c:312)",
            "==drk==    by 0xffffffff80000005",
            "==drk==  address 0xffff888000123408 is 8 bytes inside a block of size 16 at 0xffff888000123400",
            "==drk==  freed at",
            "==drk==    at 0xffffffffc00000d1 uaf_test+0x11 [badmod] (badmod.c:44)",
            "==drk==  allocated at",
            "==drk==    at 0xffffffffc00000c9 uaf_test+0x9 [badmod] (badmod.c:42)",
            "==drk==  freed 3 instructions earlier",
            "==drk==  second line",
            "==drk==",
            "");
        Assert.Equal(expected, output.ToString().Replace("\r\n", "\n"));
        // Return addresses are looked up one byte back (the call), RIP exactly.
        Assert.Contains(moduleBase + 0xc0 + 0x14, symbols.Queries);
        Assert.Contains(Kernel + 0x2000 + 0x30, symbols.Queries);
        Assert.DoesNotContain(Kernel + 0x2000 + 0x31, symbols.Queries);
    }

    [Theory]
    [InlineData(0x1000UL, "16 bytes before a block of size 32 at 0x1010")]
    [InlineData(0x1010UL, "0 bytes inside a block of size 32 at 0x1010")]
    [InlineData(0x102fUL, "31 bytes inside a block of size 32 at 0x1010")]
    [InlineData(0x1030UL, "0 bytes after a block of size 32 at 0x1010")]
    [InlineData(0x1038UL, "8 bytes after a block of size 32 at 0x1010")]
    public void TheAddressIsPlacedRelativeToItsBlock(ulong address, string expected)
    {
        var output = new StringWriter();
        new ReportChannel(output, new FakeSymbolizer()).Report(new ErrorReport
        {
            Kind = ErrorKinds.OutOfBounds, Access = AccessKind.Read, Size = 1, Address = address, Rip = 0x10,
            Allocation = new MemoryBlockContext { Address = 0x1010, Size = 32 },
        });
        Assert.Contains($"==drk==  address 0x{address:x} is {expected}\n", output.ToString());
    }

    [Theory]
    [InlineData(AccessKind.Read, 4, "==drk== k: read of size 4 at 0x20 (vCPU 0)")]
    [InlineData(AccessKind.Execute, 0, "==drk== k: execute at 0x20 (vCPU 0)")]
    [InlineData(AccessKind.Free, 0, "==drk== k: free of 0x20 (vCPU 0)")]
    [InlineData(AccessKind.None, 0, "==drk== k (vCPU 0)")]
    public void TheHeadlineNamesTheAccess(AccessKind access, int size, string expected)
    {
        var output = new StringWriter();
        new ReportChannel(output, new FakeSymbolizer()).Report(new ErrorReport { Kind = "k", Access = access, Size = size, Address = 0x20, Rip = 0x10 });
        Assert.StartsWith(expected + "\n", output.ToString());
    }

    [Fact]
    public void PastThePrintLimitReportsAreCountedNotPrinted()
    {
        var output = new StringWriter();
        var json = new StringWriter();
        var channel = new ReportChannel(output, new FakeSymbolizer()) { PrintLimit = 3, JsonLines = json };
        for (int round = 0; round < 2; round++)
            for (ulong rip = 0x100; rip < 0x105; rip++)
                channel.Report(new ErrorReport { Kind = ErrorKinds.OutOfBounds, Access = AccessKind.Read, Size = 1, Address = 7, Rip = rip });
        channel.Complete();

        string text = output.ToString();
        Assert.Equal(3, text.Split('\n').Count(l => l.StartsWith("==drk== out-of-bounds: ", StringComparison.Ordinal)));
        Assert.Single(text.Split('\n'), l => l == "==drk== more than 3 different errors: further ones are counted but not printed");
        Assert.Contains("==drk== ERROR SUMMARY: 10 errors from 5 contexts\n", text);
        Assert.Equal(new[] { true, true, true, false, false }, channel.Contexts.Select(c => c.Printed));
        var records = ReportRecord.ReadAll(new StringReader(json.ToString()));
        Assert.Equal(5, records.Count);
        Assert.All(records, r => Assert.Equal(2, r.Count));
    }

    [Fact]
    public void TheSummaryCountsErrorsContextsAndKinds()
    {
        var output = new StringWriter();
        var channel = new ReportChannel(output, Symbols(0xffff_ffff_c000_0000));
        for (int i = 0; i < 3; i++) channel.Report(Overflow(0xffff_ffff_c000_0000, 0x10));
        channel.Report(new ErrorReport { Kind = ErrorKinds.UseAfterFree, Access = AccessKind.Read, Size = 4, Address = 5, Rip = 0xffff_ffff_c000_00d0 });
        channel.Complete();
        channel.Complete(); // a second stop path prints nothing more

        string summary = output.ToString()[output.ToString().IndexOf("==drk== ERROR SUMMARY", StringComparison.Ordinal)..];
        Assert.Equal(string.Join("\n",
            "==drk== ERROR SUMMARY: 4 errors from 2 contexts",
            "==drk==   out-of-bounds: 3 errors from 1 context",
            "==drk==   use-after-free: 1 error from 1 context",
            "==drk==        3x out-of-bounds write overflow_test+0x14 [badmod]",
            "==drk==        1x use-after-free read uaf_test+0x10 [badmod]",
            ""), summary.Replace("\r\n", "\n"));
        Assert.Throws<InvalidOperationException>(() => channel.Report(Overflow(0xffff_ffff_c000_0000, 0x10)));
    }

    [Fact]
    public void ACleanRunSaysSo()
    {
        var output = new StringWriter();
        var json = new StringWriter();
        var channel = new ReportChannel(output, new FakeSymbolizer()) { JsonLines = json };
        channel.Complete();
        Assert.Equal("==drk== ERROR SUMMARY: 0 errors from 0 contexts\n", output.ToString().Replace("\r\n", "\n"));
        Assert.Equal("", json.ToString());
    }

    [Fact]
    public void JsonLinesRoundTripThroughSystemTextJson()
    {
        const ulong moduleBase = 0xffff_ffff_c000_0000;
        var json = new StringWriter();
        var channel = new ReportChannel(TextWriter.Null, Symbols(moduleBase)) { JsonLines = json };
        channel.Report(Overflow(moduleBase, 0xffff_8880_0012_3410));
        channel.Report(Overflow(moduleBase, 0xffff_8880_0012_3418));
        channel.Report(new ErrorReport { Kind = ErrorKinds.IsolationViolation, Access = AccessKind.Write, Size = 2, Address = 0xdead, Rip = 0x42, Vcpu = 3, Details = "module 'badmod' holds r- here" });
        Assert.Equal("", json.ToString()); // nothing before machine stop
        channel.Complete();

        string[] lines = json.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"title\":\"out-of-bounds write overflow_test+0x14 [badmod]\"", lines[0]); // greppable: '+' not escaped
        var records = ReportRecord.ReadAll(new StringReader(json.ToString()));
        for (int i = 0; i < records.Count; i++)
        {
            FoldedReport folded = channel.Contexts[i];
            ReportRecord record = records[i];
            Assert.Equal(folded.Title, record.Title);
            Assert.Equal(folded.First.Kind, record.Kind);
            Assert.Equal(folded.Count, record.Count);
            Assert.Equal(folded.FirstSequence, record.First);
            Assert.Equal(folded.First.Size, record.Size);
            Assert.Equal(folded.First.Vcpu, record.Vcpu);
            Assert.Equal(folded.First.Details, record.Details);
            Assert.Equal($"0x{folded.First.Address:x16}", record.Address);
            Assert.Equal($"0x{folded.First.Rip:x16}", record.Rip);
            Assert.Equal(folded.Frames, record.Stack.Select(f => f.ToSourceLocation()));
            // Serialising the parsed record again gives the same line: no field is lost or renamed.
            Assert.Equal(lines[i], record.ToJson());
        }
        Assert.Equal(2, records[0].Count);
        Assert.Equal("write", records[0].Access);
        Assert.Equal(16UL, records[0].Allocation!.Size);
        Assert.Equal("0xffff888000123400", records[0].Allocation!.Address);
        Assert.Equal(channel.Contexts[0].AllocationFrames, records[0].Allocation!.Stack.Select(f => f.ToSourceLocation()));
        Assert.Null(records[0].Free);
        Assert.Null(records[1].Allocation);

        // The field names and types scripts rely on, read with a plain DOM rather than our own types.
        using JsonDocument doc = JsonDocument.Parse(lines[0]);
        JsonElement root = doc.RootElement;
        string[] names = root.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(new[] { "title", "kind", "access", "size", "address", "rip", "vcpu", "count", "first", "stack", "allocation" }, names);
        Assert.Equal(JsonValueKind.String, root.GetProperty("address").ValueKind);
        Assert.Equal(JsonValueKind.Number, root.GetProperty("count").ValueKind);
        JsonElement top = root.GetProperty("stack")[0];
        Assert.Equal("overflow_test", top.GetProperty("function").GetString());
        Assert.Equal(0x14, top.GetProperty("offset").GetInt32());
        Assert.Equal("badmod.c", top.GetProperty("file").GetString());
        Assert.Equal(15, top.GetProperty("line").GetInt32());
        using JsonDocument unknown = JsonDocument.Parse(lines[1]);
        Assert.False(unknown.RootElement.GetProperty("stack")[0].TryGetProperty("function", out _));
        Assert.False(unknown.RootElement.TryGetProperty("allocation", out _));
    }
}
