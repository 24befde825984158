using System.Text;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// A small ring buffer of the last blocks a vCPU ran (start RIP, instructions retired, how the
/// block ended), for the dump printed when a machine stops on a triple fault, a deadlock, the
/// instruction budget or a host error.
/// </summary>
/// <remarks>Recording is two array stores and an increment: cheap enough for every block.</remarks>
public sealed class RecentBlocks
{
    /// <summary>Marks an entry for a block whose first instruction could not be fetched (the fetch faulted).</summary>
    public const byte FetchFault = byte.MaxValue;

    private readonly ulong[] _rips;
    private readonly uint[] _info;
    private long _count;

    private readonly int _mask;

    /// <param name="capacity">How many blocks are remembered: a power of two (so recording needs no division).</param>
    public RecentBlocks(int capacity = 16)
    {
        if (capacity < 1 || (capacity & (capacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), "the capacity must be a power of two");
        _rips = new ulong[capacity];
        _info = new uint[capacity];
        _mask = capacity - 1;
    }

    /// <summary>How many blocks are remembered.</summary>
    public int Capacity => _rips.Length;

    /// <summary>Blocks recorded since the start (not only those still remembered).</summary>
    public long Count => _count;

    /// <summary>Remembers a block that started at <paramref name="rip"/>, retired <paramref name="retired"/> instructions and ended as <paramref name="end"/>.</summary>
    public void Record(ulong rip, int retired, BlockEnd end) => Record(rip, retired, (byte)end);

    /// <summary>Remembers a block start whose fetch faulted.</summary>
    public void RecordFetchFault(ulong rip) => Record(rip, 0, FetchFault);

    private void Record(ulong rip, int retired, byte end)
    {
        int i = (int)_count & _mask;
        _rips[i] = rip;
        _info[i] = ((uint)retired << 8) | end;
        _count++;
    }

    /// <summary>The remembered blocks, oldest first, as (RIP, retired, end) where end is a <see cref="BlockEnd"/> or <see cref="FetchFault"/>.</summary>
    public IReadOnlyList<(ulong Rip, int Retired, byte End)> Snapshot()
    {
        int n = (int)Math.Min(_count, _rips.Length);
        var list = new List<(ulong, int, byte)>(n);
        for (long k = _count - n; k < _count; k++)
        {
            int i = (int)k & _mask;
            list.Add((_rips[i], (int)(_info[i] >> 8), (byte)_info[i]));
        }
        return list;
    }

    /// <summary>One line per remembered block, oldest first, each prefixed by <paramref name="indent"/>.</summary>
    public string Format(string indent = "  ")
    {
        var b = new StringBuilder();
        foreach (var (rip, retired, end) in Snapshot())
        {
            string how = end == FetchFault ? "fetch fault" : ((BlockEnd)end).ToString();
            b.Append(indent).Append($"{rip:x16}  {retired,2} insns  {how}").Append('\n');
        }
        return b.ToString();
    }
}
