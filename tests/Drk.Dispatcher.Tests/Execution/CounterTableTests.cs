using Drk.Dispatcher.Execution;

namespace Drk.Dispatcher.Tests.Execution;

/// <summary>
/// <see cref="CounterTable"/>: compiled code adds to a counter at the address it had when the code
/// was compiled, so allocating more counters later (past a chunk, many times) must neither move a
/// counter nor lose its value.
/// </summary>
public sealed class CounterTableTests
{
    [Fact]
    public void A_counter_keeps_its_address_and_value_while_thousands_more_are_allocated()
    {
        var table = new CounterTable();
        int first = table.Allocate("first");
        table.Slot(first) = 41;
        nint address = table.AddressOf(first);
        var later = new List<int>();
        for (int i = 0; i < 3_000; i++)
        {
            int n = table.Allocate($"c{i}");
            table.Slot(n) = i;
            later.Add(n);
        }
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);

        Assert.Equal(address, table.AddressOf(first));
        unsafe { *(long*)address += 1; }
        Assert.Equal(42, table[first]);
        Assert.Equal(3_001, table.Count);
        for (int i = 0; i < later.Count; i++) Assert.Equal(i, table[later[i]]);
        Assert.Equal("c2999", table.NameOf(later[^1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => table[3_001]);
    }
}
