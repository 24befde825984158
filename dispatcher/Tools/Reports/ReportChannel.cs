using System.Globalization;
using System.Text;
using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tools.Reports;

/// <summary>
/// Where every tool sends its errors: symbolises them, folds duplicates by a stable title,
/// counts them, prints the first of each title for people, and at machine stop prints a
/// summary and writes one JSON line per title.
/// </summary>
/// <remarks>
/// <para>
/// <b>Folding.</b> The title is the kind, the access and the top <see cref="TitleFrames"/> frames
/// of the stack, each as <c>function+0xoffset [module]</c>. It holds no data address and, when
/// symbols are known, no code address, so a module loaded elsewhere in another run folds under
/// the same title. Frames without a symbol fall back to their address. A title seen before only
/// increments its <see cref="FoldedReport.Count"/>.
/// </para>
/// <para>
/// <b>Output.</b> The first report of each title is printed at once (so it sits next to the
/// guest output that caused it), up to <see cref="PrintLimit"/> titles; after that reports are
/// still folded and counted, and one line says printing stopped. <see cref="Complete"/> prints
/// the summary ("N errors from M contexts") and writes the JSON lines: one object per context,
/// in order of first occurrence, with its final count (not one line per occurrence, so scripts
/// need no grouping and a hot bug cannot flood the file). Nothing is written to
/// <see cref="JsonLines"/> before <see cref="Complete"/>.
/// </para>
/// <para>
/// <b>Cost.</b> Each report symbolises its top <see cref="TitleFrames"/> frames to build the
/// title and looks it up in a dictionary (the rest of the stack only for a new title): it
/// allocates. Tools report from clean calls on the slow path, never per access. Not thread-safe: the dispatcher calls tools on one thread (vCPUs run round-robin).
/// </para>
/// </remarks>
public sealed class ReportChannel
{
    /// <summary>What every printed line starts with.</summary>
    public const string Prefix = "==drk==";

    /// <summary>Titles printed before printing stops (Valgrind stops at 1000 too).</summary>
    public const int DefaultPrintLimit = 1000;

    /// <summary>Most contexts listed one by one in the summary.</summary>
    public const int SummaryContextLines = 20;

    private readonly TextWriter _output;
    private readonly IAddressSymbolizer _symbolizer;
    private readonly Dictionary<string, FoldedReport> _byTitle = new(StringComparer.Ordinal);
    private readonly List<FoldedReport> _contexts = [];
    private readonly int _printLimit = DefaultPrintLimit;
    private readonly int _titleFrames = 1;
    private long _errors;
    private int _printed;
    private bool _limitAnnounced;

    /// <summary>A channel printing to <paramref name="output"/> (the CLI passes stderr) and symbolising with <paramref name="symbolizer"/>.</summary>
    public ReportChannel(TextWriter output, IAddressSymbolizer symbolizer)
    {
        _output = output ?? throw new ArgumentNullException(nameof(output));
        _symbolizer = symbolizer ?? throw new ArgumentNullException(nameof(symbolizer));
    }

    /// <summary>Where <see cref="Complete"/> writes one JSON object per context and line (<c>--report F</c>); null for none. Not disposed by the channel.</summary>
    public TextWriter? JsonLines { get; init; }

    /// <summary>Distinct titles printed before printing stops; 0 prints none (the summary is still printed).</summary>
    public int PrintLimit
    {
        get => _printLimit;
        init => _printLimit = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(PrintLimit), value, "the print limit is not negative");
    }

    /// <summary>Stack frames in the title, from the RIP outwards (default 1). More frames split reports raised in a shared helper (say a copy routine) by caller.</summary>
    public int TitleFrames
    {
        get => _titleFrames;
        init => _titleFrames = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(TitleFrames), value, "a title has at least one frame");
    }

    /// <summary>Reports received.</summary>
    public long ErrorCount => _errors;

    /// <summary>Distinct titles among them.</summary>
    public int ContextCount => _contexts.Count;

    /// <summary>The contexts in order of first occurrence.</summary>
    public IReadOnlyList<FoldedReport> Contexts => _contexts;

    /// <summary>True once <see cref="Complete"/> has run.</summary>
    public bool IsCompleted { get; private set; }

    /// <summary>
    /// Files one error. Returns true when its title is new (it was printed, unless past
    /// <see cref="PrintLimit"/>), false when it folded into an earlier one.
    /// </summary>
    /// <exception cref="InvalidOperationException">After <see cref="Complete"/>.</exception>
    public bool Report(ErrorReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (IsCompleted) throw new InvalidOperationException("the machine has stopped: the report channel is complete");
        if (string.IsNullOrWhiteSpace(report.Kind)) throw new ArgumentException("a report has a kind", nameof(report));
        _errors++;
        // Only the title's frames are symbolised for a repeat; the whole stack only for a new context.
        SourceLocation[] frames = Symbolize(report.Rip, report.Stack, Math.Min(_titleFrames, 1 + report.Stack.Count));
        string title = Title(report, frames);
        if (_byTitle.TryGetValue(title, out FoldedReport? folded))
        {
            folded.Count++;
            return false;
        }
        if (frames.Length < 1 + report.Stack.Count) frames = SymbolizeRest(frames, report.Stack);
        folded = new FoldedReport(title, report, _errors, frames,
            report.Allocation is null ? null : SymbolizeReturns(report.Allocation.Stack),
            report.Free is null ? null : SymbolizeReturns(report.Free.Stack));
        _byTitle.Add(title, folded);
        _contexts.Add(folded);
        if (_printed < _printLimit)
        {
            ReportTextFormat.Write(_output, folded);
            folded.Printed = true;
            _printed++;
            _output.Flush();
        }
        else if (!_limitAnnounced)
        {
            _limitAnnounced = true;
            _output.WriteLine($"{Prefix} more than {_printLimit} different errors: further ones are counted but not printed");
            _output.Flush();
        }
        return true;
    }

    /// <summary>
    /// Machine stop: prints the summary and writes the JSON lines, then flushes both writers.
    /// Later calls do nothing, so every stop path may call it.
    /// </summary>
    public void Complete()
    {
        if (IsCompleted) return;
        IsCompleted = true;
        WriteSummary();
        _output.Flush();
        if (JsonLines is null) return;
        foreach (FoldedReport folded in _contexts)
            JsonLines.WriteLine(ReportRecord.From(folded).ToJson());
        JsonLines.Flush();
    }

    /// <summary>The title a report folds under, given its symbolised stack (frame 0 = RIP).</summary>
    internal string Title(ErrorReport report, IReadOnlyList<SourceLocation> frames)
    {
        var title = new StringBuilder(report.Kind);
        if (report.Access != AccessKind.None) title.Append(' ').Append(ReportRecord.AccessName(report.Access));
        int count = Math.Min(_titleFrames, frames.Count);
        for (int i = 0; i < count; i++)
            title.Append(i == 0 ? " " : " < ").Append(FrameTitle(frames[i]));
        return title.ToString();
    }

    private void WriteSummary()
    {
        _output.WriteLine($"{Prefix} ERROR SUMMARY: {Plural(_errors, "error")} from {Plural(_contexts.Count, "context")}");
        if (_contexts.Count == 0) return;
        // Per kind, in order of the kind's first appearance.
        var kinds = new List<string>();
        var errorsByKind = new Dictionary<string, long>(StringComparer.Ordinal);
        var contextsByKind = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (FoldedReport folded in _contexts)
        {
            string kind = folded.First.Kind;
            if (!errorsByKind.ContainsKey(kind)) kinds.Add(kind);
            errorsByKind[kind] = errorsByKind.GetValueOrDefault(kind) + folded.Count;
            contextsByKind[kind] = contextsByKind.GetValueOrDefault(kind) + 1;
        }
        if (kinds.Count > 1)
            foreach (string kind in kinds)
                _output.WriteLine($"{Prefix}   {kind}: {Plural(errorsByKind[kind], "error")} from {Plural(contextsByKind[kind], "context")}");
        int listed = Math.Min(_contexts.Count, SummaryContextLines);
        for (int i = 0; i < listed; i++)
            _output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Prefix} {_contexts[i].Count,8}x {_contexts[i].Title}"));
        if (listed < _contexts.Count)
            _output.WriteLine($"{Prefix} ... and {_contexts.Count - listed} more contexts{(JsonLines is null ? "" : " (all are in the report file)")}");
    }

    // The first count frames: the RIP, then return addresses.
    private SourceLocation[] Symbolize(ulong rip, IReadOnlyList<ulong> returns, int count)
    {
        var frames = new SourceLocation[count];
        frames[0] = _symbolizer.Symbolize(rip);
        for (int i = 1; i < count; i++) frames[i] = SymbolizeReturn(returns[i - 1]);
        return frames;
    }

    // The title's frames extended by the rest of the stack.
    private SourceLocation[] SymbolizeRest(SourceLocation[] top, IReadOnlyList<ulong> returns)
    {
        var frames = new SourceLocation[1 + returns.Count];
        top.CopyTo(frames, 0);
        for (int i = top.Length; i < frames.Length; i++) frames[i] = SymbolizeReturn(returns[i - 1]);
        return frames;
    }

    private SourceLocation[] SymbolizeReturns(IReadOnlyList<ulong> returns)
    {
        var frames = new SourceLocation[returns.Count];
        for (int i = 0; i < returns.Count; i++) frames[i] = SymbolizeReturn(returns[i]);
        return frames;
    }

    // A return address is the instruction after the call: look up the byte before it so the
    // function and line are the call's (it may be the last instruction of a noreturn function's
    // caller, or of an inlined range), then show the return address itself, as Valgrind does.
    private SourceLocation SymbolizeReturn(ulong returnAddress)
    {
        if (returnAddress == 0) return SourceLocation.Unknown(0);
        SourceLocation call = _symbolizer.Symbolize(returnAddress - 1);
        return call with { Address = returnAddress, Offset = call.HasFunction ? call.Offset + 1 : call.Offset };
    }

    private static string FrameTitle(SourceLocation frame)
    {
        string module = frame.Module is null ? "" : $" [{frame.Module}]";
        if (frame.Function is null) return ReportTextFormat.Hex(frame.Address) + module;
        return string.Create(CultureInfo.InvariantCulture, $"{frame.Function}+0x{frame.Offset:x}{module}");
    }

    private static string Plural(long count, string noun) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {noun}{(count == 1 ? "" : "s")}");
}
