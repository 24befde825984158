using System.Text.Json;
using System.Text.Json.Serialization;

namespace Drk.Dispatcher.Tools.Reports;

/// <summary>
/// One line of the JSON-lines report file: one error context (<see cref="FoldedReport"/>) with
/// its count, written at machine stop. Field names are stable; docs/shadow-and-reports.md lists them.
/// </summary>
public sealed class ReportRecord
{
    /// <summary>The folding title.</summary>
    [JsonPropertyName("title")] public string Title { get; set; } = "";

    /// <summary>The error kind, e.g. "use-after-free".</summary>
    [JsonPropertyName("kind")] public string Kind { get; set; } = "";

    /// <summary>"read", "write", "execute", "free" or "none".</summary>
    [JsonPropertyName("access")] public string Access { get; set; } = "";

    /// <summary>Bytes accessed (0 when the access has no size).</summary>
    [JsonPropertyName("size")] public int Size { get; set; }

    /// <summary>The guest address accessed, "0x" and 16 hex digits.</summary>
    [JsonPropertyName("address")] public string Address { get; set; } = "";

    /// <summary>The guest RIP of the first occurrence.</summary>
    [JsonPropertyName("rip")] public string Rip { get; set; } = "";

    /// <summary>The vCPU of the first occurrence.</summary>
    [JsonPropertyName("vcpu")] public int Vcpu { get; set; }

    /// <summary>How many reports folded into this context.</summary>
    [JsonPropertyName("count")] public long Count { get; set; }

    /// <summary>The first occurrence's number among all reports of the run, from 1 (orders contexts in time).</summary>
    [JsonPropertyName("first")] public long First { get; set; }

    /// <summary>The first occurrence's stack, symbolised: frame 0 is the RIP.</summary>
    [JsonPropertyName("stack")] public List<ReportFrameRecord> Stack { get; set; } = [];

    /// <summary>The block and its allocation stack; absent when the tool gave none.</summary>
    [JsonPropertyName("allocation")] public ReportBlockRecord? Allocation { get; set; }

    /// <summary>The block and its free stack; absent when the tool gave none.</summary>
    [JsonPropertyName("free")] public ReportBlockRecord? Free { get; set; }

    /// <summary>The tool's free-form details; absent when none.</summary>
    [JsonPropertyName("details")] public string? Details { get; set; }

    /// <summary>The record of one context.</summary>
    public static ReportRecord From(FoldedReport folded)
    {
        ArgumentNullException.ThrowIfNull(folded);
        ErrorReport first = folded.First;
        return new ReportRecord
        {
            Title = folded.Title,
            Kind = first.Kind,
            Access = AccessName(first.Access),
            Size = first.Size,
            Address = GuestAddressText.Format(first.Address),
            Rip = GuestAddressText.Format(first.Rip),
            Vcpu = first.Vcpu,
            Count = folded.Count,
            First = folded.FirstSequence,
            Stack = Frames(folded.Frames),
            Allocation = Block(first.Allocation, folded.AllocationFrames),
            Free = Block(first.Free, folded.FreeFrames),
            Details = first.Details,
        };
    }

    /// <summary>One JSON line as written by <see cref="ReportChannel"/>.</summary>
    /// <exception cref="JsonException">The line is not a report object.</exception>
    public static ReportRecord Parse(string line) =>
        JsonSerializer.Deserialize(line, ReportJsonContext.Lines.ReportRecord)
        ?? throw new JsonException("a report line is a JSON object, not null");

    /// <summary>Every record of a JSON-lines report file, skipping blank lines.</summary>
    public static List<ReportRecord> ReadAll(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var records = new List<ReportRecord>();
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
            if (!string.IsNullOrWhiteSpace(line)) records.Add(Parse(line));
        return records;
    }

    /// <summary>This record as one line of JSON (no line break).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ReportJsonContext.Lines.ReportRecord);

    /// <summary>The JSON spelling of an access kind.</summary>
    public static string AccessName(AccessKind access) => access switch
    {
        AccessKind.Read => "read",
        AccessKind.Write => "write",
        AccessKind.Execute => "execute",
        AccessKind.Free => "free",
        _ => "none",
    };

    private static List<ReportFrameRecord> Frames(IReadOnlyList<Symbols.SourceLocation>? frames)
    {
        var list = new List<ReportFrameRecord>(frames?.Count ?? 0);
        if (frames is not null)
            foreach (var frame in frames) list.Add(ReportFrameRecord.From(frame));
        return list;
    }

    private static ReportBlockRecord? Block(MemoryBlockContext? block, IReadOnlyList<Symbols.SourceLocation>? frames) =>
        block is null ? null : new ReportBlockRecord
        {
            Address = GuestAddressText.Format(block.Address),
            Size = block.Size,
            Stack = Frames(frames),
        };
}
