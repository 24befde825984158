using Drk.Dispatcher.IR;
using Drk.Dispatcher.Tools;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// Counts kernel stores per module (the kernel is a row) with a clean call after each, the slow
/// and plain way: the oracle that memwrites' inline counters are checked against.
/// </summary>
public sealed class CleanCallStoreCounter : ITool
{
    private readonly List<string> _rows = new();
    private readonly List<long> _writes = new();

    /// <inheritdoc />
    public string Name => "storecalls";

    /// <inheritdoc />
    public string Description => "counts kernel stores per module with a clean call each (a test oracle)";

    /// <summary>The stores counted, by row name (rows of code that never ran a store are absent).</summary>
    public Dictionary<string, long> Writes()
    {
        var result = new Dictionary<string, long>();
        for (int i = 0; i < _rows.Count; i++) result[_rows[i]] = _writes[i];
        return result;
    }

    /// <inheritdoc />
    public void Start(ToolContext context)
    {
        ulong count = context.RegisterCleanCall((_, row, _, _, _) => _writes[(int)row]++);
        context.AddBlockPass(block =>
        {
            ulong row = RowOf(block.Module?.Name ?? "kernel");
            foreach (var instruction in block.Instructions)
                foreach (var access in instruction.MemoryAccesses)
                {
                    if (!access.IsWrite) continue;
                    var ir = block.InsertAfter(access);
                    ir.CleanCall(count, ir.Const64(row), IrValue.None, IrValue.None, IrValue.None);
                }
        });
    }

    private ulong RowOf(string name)
    {
        int row = _rows.IndexOf(name);
        if (row >= 0) return (ulong)row;
        _rows.Add(name);
        _writes.Add(0);
        return (ulong)(_rows.Count - 1);
    }
}
