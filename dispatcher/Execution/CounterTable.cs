using System.Runtime.CompilerServices;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// The tools' inline counters, which <see cref="IR.IrOpcode.CounterAdd"/> ops add to by number.
/// One table is shared by every vCPU and tier of a machine.
/// </summary>
/// <remarks>
/// Counters may be allocated at any time (a tool may give each module its own when it loads).
/// They live in pinned chunks that never move and are never dropped while the table lives, so a
/// counter's address is fixed from its allocation on: compiled code adds to it there, one
/// read-modify-write at a constant address, without loading the table, an array and its bounds on
/// every add (inscount adds at nearly every block boundary). vCPUs run round-robin on one
/// thread, so plain adds suffice.
/// </remarks>
public sealed class CounterTable
{
    private const int ChunkShift = 9;
    private const int ChunkSize = 1 << ChunkShift;

    private readonly List<string> _names = new();
    private readonly List<long[]> _chunks = new();

    /// <summary>Number of allocated counters.</summary>
    public int Count => _names.Count;

    /// <summary>Allocates a counter named <paramref name="name"/> (for diagnostics), starting at 0, and returns its number.</summary>
    public int Allocate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_names.Count == _chunks.Count * ChunkSize) _chunks.Add(GC.AllocateArray<long>(ChunkSize, pinned: true));
        _names.Add(name);
        return _names.Count - 1;
    }

    /// <summary>The name counter <paramref name="number"/> was allocated with.</summary>
    public string NameOf(int number) => _names[number];

    /// <summary>The value of counter <paramref name="number"/>.</summary>
    public long this[int number] => Slot(number);

    /// <summary>Where counter <paramref name="number"/> is kept (the interpreter and bulk paths add there).</summary>
    public ref long Slot(int number)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(number);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(number, _names.Count);
        return ref SlotOfAllocated(number);
    }

    /// <summary>
    /// <see cref="Slot"/> without its argument checks, for the interpreter's CounterAdd (whose counter
    /// numbers come from <see cref="Allocate"/>): the checks' throw paths, inlined into the interpreter's
    /// loop, made every interpreted block slower, tool or not. The arrays still check their bounds.
    /// </summary>
    internal ref long SlotOfAllocated(int number) => ref _chunks[number >> ChunkShift][number & (ChunkSize - 1)];

    /// <summary>The fixed host address of counter <paramref name="number"/>, for compiled code (valid while the table lives).</summary>
    internal unsafe nint AddressOf(int number) => (nint)Unsafe.AsPointer(ref Slot(number));
}
