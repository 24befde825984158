namespace Drk.Dispatcher.Symbols;

/// <summary>Collects rows by sequence and files by path while units are decoded, then sorts sequences by address.</summary>
internal sealed class DwarfLineTableBuilder
{
    private readonly List<(ulong Address, int Line, int File)> rows = new();
    private readonly List<(ulong Start, int First, int Count)> sequences = new();
    private readonly List<SourceFile> files = new();
    private readonly Dictionary<string, int> fileIds = new(StringComparer.Ordinal);
    private readonly List<string> legacyDirectories = new();
    private int sequenceStart;

    public void StartSequence() => sequenceStart = rows.Count;

    public void AddRow(ulong address, int line, int file) => rows.Add((address, line, file));

    public void EndSequence(ulong address)
    {
        if (rows.Count == sequenceStart)
            return;
        rows.Add((address, 0, DwarfLineTable.NoFile));
        sequences.Add((rows[sequenceStart].Address, sequenceStart, rows.Count - sequenceStart));
    }

    /// <summary>Rows after the last end_sequence belong to no complete sequence: gcc never leaves any.</summary>
    public void DropOpenSequence() => rows.RemoveRange(sequenceStart, rows.Count - sequenceStart);

    public int File(string fullPath, string compilationDirectory)
    {
        var display = compilationDirectory.Length > 0
                      && fullPath.Length > compilationDirectory.Length + 1
                      && fullPath.StartsWith(compilationDirectory, StringComparison.Ordinal)
                      && (compilationDirectory.EndsWith('/') || fullPath[compilationDirectory.Length] == '/')
            ? fullPath[(compilationDirectory.Length + (compilationDirectory.EndsWith('/') ? 0 : 1))..]
            : fullPath;
        return Intern(new SourceFile(display, fullPath));
    }

    public void BeginLegacyUnit()
    {
        legacyDirectories.Clear();
        // Directory 0 is the compilation directory, which only .debug_info names: paths stay relative to it.
        legacyDirectories.Add("");
    }

    public void AddLegacyDirectory(string directory) => legacyDirectories.Add(directory);

    public int LegacyFile(string name, int directory)
    {
        var dir = directory < legacyDirectories.Count ? legacyDirectories[directory] : "";
        var path = DwarfLineTable.Join(dir, name);
        return Intern(new SourceFile(path, path));
    }

    public int UnknownFile() => Intern(new SourceFile("??", "??"));

    public DwarfLineTable Build()
    {
        var order = new int[sequences.Count];
        for (var i = 0; i < order.Length; i++)
            order[i] = i;
        // Equal starts keep their order in the section, so the result does not depend on the sort.
        Array.Sort(order, (a, b) => sequences[a].Start != sequences[b].Start
            ? sequences[a].Start.CompareTo(sequences[b].Start)
            : a.CompareTo(b));

        var count = 0;
        foreach (var s in sequences)
            count += s.Count;
        var addresses = new ulong[count];
        var lines = new int[count];
        var fileOfRow = new int[count];
        var k = 0;
        foreach (var index in order)
        {
            var (start, first, length) = sequences[index];
            // A sequence overlapping an earlier one (code of an unplaced section, all at
            // address 0) would break the sorted order the lookup relies on: the first one stays.
            if (k > 0 && start < addresses[k - 1])
                continue;
            for (var r = first; r < first + length; r++, k++)
                (addresses[k], lines[k], fileOfRow[k]) = rows[r];
        }
        Array.Resize(ref addresses, k);
        Array.Resize(ref lines, k);
        Array.Resize(ref fileOfRow, k);
        return new DwarfLineTable(addresses, lines, fileOfRow, files.ToArray());
    }

    private int Intern(SourceFile file)
    {
        if (fileIds.TryGetValue(file.FullPath, out var id))
            return id;
        id = files.Count;
        files.Add(file);
        fileIds.Add(file.FullPath, id);
        return id;
    }
}
