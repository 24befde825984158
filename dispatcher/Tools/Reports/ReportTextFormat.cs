using System.Globalization;
using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tools.Reports;

/// <summary>
/// The text people read, in the manner of Valgrind and KASAN: every line starts with
/// <see cref="ReportChannel.Prefix"/> so it stands out of (and can be grepped from) the guest's serial output.
/// </summary>
internal static class ReportTextFormat
{
    /// <summary>The headline, stack, block description and details of one context, then a blank prefixed line.</summary>
    public static void Write(TextWriter output, FoldedReport folded)
    {
        ErrorReport report = folded.First;
        string p = ReportChannel.Prefix;
        output.WriteLine($"{p} {report.Kind}{Headline(report)} (vCPU {report.Vcpu})");
        WriteFrames(output, folded.Frames);
        if (report.Allocation is { } block)
        {
            if (report.Access != AccessKind.None)
                output.WriteLine($"{p}  address {Hex(report.Address)} is {Relation(report.Address, block)}");
            else
                output.WriteLine($"{p}  block of size {block.Size} at {Hex(block.Address)}");
        }
        if (report.Free is not null && folded.FreeFrames is { Count: > 0 } freeFrames)
        {
            output.WriteLine($"{p}  freed at");
            WriteFrames(output, freeFrames);
        }
        if (report.Allocation is not null && folded.AllocationFrames is { Count: > 0 } allocationFrames)
        {
            output.WriteLine($"{p}  allocated at");
            WriteFrames(output, allocationFrames);
        }
        if (!string.IsNullOrEmpty(report.Details))
            foreach (string line in report.Details.Split('\n'))
                output.WriteLine($"{p}  {line.TrimEnd('\r')}");
        output.WriteLine(p);
    }

    /// <summary>": write of size 8 at 0x...", ": execute at 0x...", ": free of 0x..." or nothing for <see cref="AccessKind.None"/>.</summary>
    public static string Headline(ErrorReport report) => report.Access switch
    {
        AccessKind.None => "",
        AccessKind.Free => $": free of {Hex(report.Address)}",
        AccessKind.Execute => $": execute at {Hex(report.Address)}",
        _ when report.Size > 0 => $": {ReportRecord.AccessName(report.Access)} of size {report.Size} at {Hex(report.Address)}",
        _ => $": {ReportRecord.AccessName(report.Access)} at {Hex(report.Address)}",
    };

    /// <summary>Where an address lies relative to a block, as Valgrind words it: "8 bytes after a block of size 16 at 0x...".</summary>
    public static string Relation(ulong address, MemoryBlockContext block)
    {
        string where;
        if (address < block.Address)
            where = $"{block.Address - address} bytes before";
        else if (address - block.Address < block.Size)
            where = $"{address - block.Address} bytes inside";
        else
            where = $"{address - block.Address - block.Size} bytes after";
        return $"{where} a block of size {block.Size} at {Hex(block.Address)}";
    }

    private static void WriteFrames(TextWriter output, IReadOnlyList<SourceLocation> frames)
    {
        for (int i = 0; i < frames.Count; i++)
            output.WriteLine($"{ReportChannel.Prefix}    {(i == 0 ? "at" : "by")} {frames[i]}");
    }

    public static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
