using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tools.Reports;

/// <summary>
/// One error context: every report that shared a title, represented by the first of them,
/// symbolised, with the number of times it occurred.
/// </summary>
public sealed class FoldedReport
{
    internal FoldedReport(string title, ErrorReport first, long firstSequence, SourceLocation[] frames,
        SourceLocation[]? allocationFrames, SourceLocation[]? freeFrames)
    {
        Title = title;
        First = first;
        FirstSequence = firstSequence;
        Frames = frames;
        AllocationFrames = allocationFrames;
        FreeFrames = freeFrames;
        Count = 1;
    }

    /// <summary>The folding key: kind, access and the top symbolised frame(s), free of run-dependent addresses where symbols allow.</summary>
    public string Title { get; }

    /// <summary>The first report with this title; later ones are only counted.</summary>
    public ErrorReport First { get; }

    /// <summary>The first report's number among all reports of the run, from 1.</summary>
    public long FirstSequence { get; }

    /// <summary>How many reports had this title.</summary>
    public long Count { get; internal set; }

    /// <summary>The first report's stack symbolised: <see cref="ErrorReport.Rip"/> first, then its return addresses.</summary>
    public IReadOnlyList<SourceLocation> Frames { get; }

    /// <summary>The allocation stack symbolised, when the report had an allocation context.</summary>
    public IReadOnlyList<SourceLocation>? AllocationFrames { get; }

    /// <summary>The free stack symbolised, when the report had a free context.</summary>
    public IReadOnlyList<SourceLocation>? FreeFrames { get; }

    /// <summary>True when the first report was printed (false once the print limit was reached).</summary>
    public bool Printed { get; internal set; }
}
