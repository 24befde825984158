using Drk.Dispatcher.Symbols;
using Drk.Dispatcher.Tests.Symbols;
using Drk.Dispatcher.Tools.Reports;

namespace Drk.Dispatcher.Tests.Tools.Reports;

/// <summary>
/// The channel with the real <see cref="Symbolizer"/> over the guest's kernel.elf: titles, printed
/// frames and JSON frames name what readelf and addr2line name (oracles, not hand-written expectations).
/// </summary>
public sealed class ReportChannelKernelSymbolsTests
{
    [SkippableFact]
    public void KernelFramesAreNamedAsReadelfAndAddr2lineNameThem()
    {
        var guest = GuestObjects.Require();
        var symbols = Readelf.Symbols(guest.KernelPath);
        var kmalloc = symbols.First(s => s.Name == "kmalloc" && s.Type == "FUNC");
        var kfree = symbols.First(s => s.Name == "kfree" && s.Type == "FUNC");
        ulong rip = kmalloc.Value + Math.Min(4, kmalloc.Size - 1);
        ulong returnAddress = kfree.Value + Math.Min(9, kfree.Size - 1);
        var lines = Addr2line.Lookup(guest.KernelPath, [rip, returnAddress - 1]);

        var output = new StringWriter();
        var json = new StringWriter();
        var channel = new ReportChannel(output, Symbolizer.ForKernel(guest.Kernel)) { JsonLines = json };
        channel.Report(new ErrorReport
        {
            Kind = ErrorKinds.OutOfBounds, Access = AccessKind.Write, Size = 8, Address = 0xffff_8000_0000_1000,
            Rip = rip, Stack = [returnAddress],
        });
        channel.Complete();

        Assert.Equal($"out-of-bounds write kmalloc+0x{rip - kmalloc.Value:x} [kernel]", channel.Contexts[0].Title);
        IReadOnlyList<SourceLocation> frames = channel.Contexts[0].Frames;
        Assert.Equal(("kmalloc", rip - kmalloc.Value, "kernel"), (frames[0].Function, frames[0].Offset, frames[0].Module));
        Assert.Equal(("kfree", returnAddress - kfree.Value, returnAddress), (frames[1].Function, frames[1].Offset, frames[1].Address));
        for (int i = 0; i < 2; i++)
        {
            // The return address's line is the call's (addr2line was asked about the byte before it).
            Assert.Equal(lines[i].Line, frames[i].Line);
            if (lines[i].File is not null) Assert.EndsWith(frames[i].File!, lines[i].File);
        }
        Assert.Contains($"==drk==    at {frames[0]}\n", output.ToString());
        Assert.Contains($"==drk==    by 0x{returnAddress:x16} kfree+0x{returnAddress - kfree.Value:x} [kernel]", output.ToString());

        var record = ReportRecord.ReadAll(new StringReader(json.ToString())).Single();
        Assert.Equal(new[] { "kmalloc", "kfree" }, record.Stack.Select(f => f.Function));
        Assert.Equal(new int?[] { lines[0].File is null ? null : lines[0].Line, lines[1].File is null ? null : lines[1].Line }, record.Stack.Select(f => f.Line));
    }
}
