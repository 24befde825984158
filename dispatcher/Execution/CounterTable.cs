namespace Drk.Dispatcher.Execution;

/// <summary>
/// The tools' inline counters, which <see cref="IR.IrOpcode.CounterAdd"/> ops add to by number.
/// One table is shared by every vCPU and tier of a machine.
/// </summary>
/// <remarks>
/// Counters may be allocated at any time (a tool may give each module its own when it loads):
/// compiled code reads <see cref="Values"/> afresh at each add, so growing the array is safe.
/// vCPUs run round-robin on one thread, so plain adds suffice.
/// </remarks>
public sealed class CounterTable
{
    private readonly List<string> _names = new();

    /// <summary>The counter values, indexed by counter number (a field: compiled code loads it).</summary>
    public long[] Values = new long[16];

    /// <summary>Number of allocated counters.</summary>
    public int Count => _names.Count;

    /// <summary>Allocates a counter named <paramref name="name"/> (for diagnostics) and returns its number.</summary>
    public int Allocate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_names.Count == Values.Length)
        {
            var grown = new long[Values.Length * 2];
            Values.CopyTo(grown, 0);
            Values = grown;
        }
        _names.Add(name);
        return _names.Count - 1;
    }

    /// <summary>The name counter <paramref name="number"/> was allocated with.</summary>
    public string NameOf(int number) => _names[number];

    /// <summary>The value of counter <paramref name="number"/>.</summary>
    public long this[int number] => Values[number];
}
