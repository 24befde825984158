using System.Globalization;
using System.Text;
using System.Text.Json;
using CsvHelper;

namespace Drk.Experiments.Recording;

/// <summary>
/// The results folder's run journal. Each finished run is appended to a JSON-lines file and flushed to disk
/// before the next one starts, so an interrupted experiment loses only the runs in flight. The JSON lines are
/// the source of truth; <c>runs.csv</c> is appended alongside and rebuilt from them whenever the store opens.
/// </summary>
public sealed class ResultStore
{
    public const string JournalFile = "runs.jsonl";
    public const string CsvFile = "runs.csv";
    public const string InvocationsFile = "invocations.jsonl";

    private readonly object _gate = new();
    private readonly string? _csvPath;

    /// <param name="directory">The results folder.</param>
    /// <param name="journalName">The journal's file name: <see cref="JournalFile"/>, or a Slurm chunk's own file.</param>
    /// <param name="writeCsv">Whether to keep <c>runs.csv</c> (not for chunks: the merge step writes it).</param>
    public ResultStore(string directory, string journalName = JournalFile, bool writeCsv = true)
    {
        Directory.CreateDirectory(directory);
        DirectoryPath = directory;
        JournalPath = Path.Combine(directory, journalName);
        _csvPath = writeCsv ? Path.Combine(directory, CsvFile) : null;
        (Records, DiscardedLines) = ReadJournal(JournalPath);
        if (_csvPath is not null) RewriteCsv(Records);
    }

    public string DirectoryPath { get; }

    public string JournalPath { get; }

    /// <summary>Every record in the journal, in the order written (a key may repeat after a retry: the last wins).</summary>
    public List<RunRecord> Records { get; }

    /// <summary>Journal lines that could not be read (a run torn by an interruption), dropped when the store opened.</summary>
    public int DiscardedLines { get; }

    /// <summary>Appends one run to the journal (flushed to disk) and to the CSV. Safe to call from parallel runs.</summary>
    public void Append(RunRecord record)
    {
        var line = JsonSerializer.Serialize(record, JsonFormat.Options) + "\n";
        lock (_gate)
        {
            using (var journal = new FileStream(JournalPath, FileMode.Append, FileAccess.Write, FileShare.Read))
            {
                journal.Write(Encoding.UTF8.GetBytes(line));
                journal.Flush(flushToDisk: true);
            }
            if (_csvPath is not null)
            {
                using var writer = new StreamWriter(_csvPath, append: true);
                using var csv = NewCsvWriter(writer);
                csv.WriteRecord(record);
                csv.NextRecord();
            }
            Records.Add(record);
        }
    }

    /// <summary>Appends an invocation's provenance to <paramref name="file"/> in the results folder.</summary>
    public void AppendInvocation(InvocationRecord invocation, string file = InvocationsFile)
    {
        lock (_gate)
            File.AppendAllText(Path.Combine(DirectoryPath, file), JsonSerializer.Serialize(invocation, JsonFormat.Options) + "\n");
    }

    /// <summary>The latest record of each key, in first-seen order.</summary>
    public static IReadOnlyList<RunRecord> LatestByKey(IEnumerable<RunRecord> records)
    {
        var latest = new Dictionary<string, RunRecord>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var r in records)
        {
            if (!latest.ContainsKey(r.Key)) order.Add(r.Key);
            latest[r.Key] = r;
        }
        return order.Select(k => latest[k]).ToList();
    }

    /// <summary>Reads the invocations of a results folder (all files matching <c>invocations*.jsonl</c>).</summary>
    public static IReadOnlyList<InvocationRecord> ReadInvocations(string directory)
    {
        var result = new List<InvocationRecord>();
        if (!Directory.Exists(directory)) return result;
        foreach (var file in Directory.GetFiles(directory, "invocations*.jsonl").Order(StringComparer.Ordinal))
            foreach (var line in File.ReadLines(file))
                if (TryDeserialize<InvocationRecord>(line) is { } inv) result.Add(inv);
        return result.OrderBy(i => i.StartedUtc).ToList();
    }

    /// <summary>Rewrites <c>runs.csv</c> from the given records.</summary>
    public void RewriteCsv(IEnumerable<RunRecord> records)
    {
        if (_csvPath is null) return;
        lock (_gate)
        {
            using var writer = new StreamWriter(_csvPath, append: false);
            using var csv = NewCsvWriter(writer);
            csv.WriteHeader<RunRecord>();
            csv.NextRecord();
            csv.WriteRecords(records);
        }
    }

    /// <summary>Reads a journal; a torn last line (no newline: the run was being written when the process died)
    /// is cut off the file so that the next append starts on a fresh line.</summary>
    public static (List<RunRecord> Records, int Discarded) ReadJournal(string path)
    {
        var records = new List<RunRecord>();
        if (!File.Exists(path)) return (records, 0);
        var text = File.ReadAllText(path);
        var discarded = 0;
        var end = text.LastIndexOf('\n') + 1;
        if (end < text.Length)
        {
            if (text[end..].Trim().Length > 0) discarded++;
            using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
            file.SetLength(Encoding.UTF8.GetByteCount(text.AsSpan(0, end)));
        }
        foreach (var line in text[..end].Split('\n'))
        {
            if (line.Trim().Length == 0) continue;
            if (TryDeserialize<RunRecord>(line) is { } r) records.Add(r);
            else discarded++;
        }
        return (records, discarded);
    }

    private static T? TryDeserialize<T>(string line) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(line, JsonFormat.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static CsvWriter NewCsvWriter(TextWriter writer)
    {
        var csv = new CsvWriter(writer, CultureInfo.InvariantCulture);
        csv.Context.RegisterClassMap<RunRecordCsvMap>();
        return csv;
    }
}
