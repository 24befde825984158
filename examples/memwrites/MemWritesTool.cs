using Drk.Dispatcher.Tools;

namespace Drk.Examples.MemWrites;

/// <summary>Counts the guest memory writes of kernel code per module (the kernel is a row of its own), inline.</summary>
public sealed class MemWritesTool : ITool
{
    private readonly Dictionary<string, int> _counters = new();  // row name -> inline counter; a module loaded again reuses its row
    private ToolContext _context = null!;

    public string Name => "memwrites";
    public string Description => "counts kernel memory writes per module, inline";

    public void Start(ToolContext context)
    {
        _context = context;
        CounterOf("kernel");
        context.ModuleLoaded += (_, module) => CounterOf(module.Name);
        context.AddBlockPass(CountWrites);
        context.MachineStopped += _ => PrintTable();
    }

    // Runs when a block is translated, not each time it runs: only what it inserts runs each time.
    private void CountWrites(InstrumentedBlock block)
    {
        int counter = CounterOf(block.Module?.Name ?? "kernel");
        foreach (var instruction in block.Instructions)
            foreach (var access in instruction.MemoryAccesses)
            {
                if (!access.IsWrite) continue;
                var ir = block.InsertAfter(access);  // after the store: a store that faulted never happened
                ir.CounterAdd(counter, ir.Const64(1));
            }
    }

    private int CounterOf(string name)
    {
        if (!_counters.TryGetValue(name, out int counter))
            _counters[name] = counter = _context.AllocateCounter(name);
        return counter;
    }

    private void PrintTable()
    {
        _context.Output.WriteLine($"memwrites: {"module",-12} {"writes",14}");
        foreach (var (name, counter) in _counters)
            _context.Output.WriteLine($"memwrites: {name,-12} {_context.Counters[counter],14}");
    }
}
