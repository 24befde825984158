using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Tools;

namespace Drk.Tools.InsCount;

/// <summary>
/// Counts the guest instructions that kernel code in scope executes, kernel-wide and per module,
/// with inline counter adds (no clean call): the count equals the retired count exactly.
/// </summary>
/// <remarks>
/// Each module gets its own counter when it loads (a module loaded again reuses its name's
/// counter). At the end the tool prints one line per counter and a total; under scope
/// <c>kernel+modules</c> the total is every instruction the vCPUs retired at CPL 0.
/// </remarks>
public sealed class InsCountTool : ITool
{
    private readonly Dictionary<string, int> _moduleCounters = new();
    private ToolContext _context = null!;
    private int _kernelCounter;

    /// <inheritdoc />
    public string Name => "inscount";

    /// <inheritdoc />
    public string Description => "counts executed kernel instructions per module, inline";

    /// <summary>Instructions counted in kernel code (outside modules).</summary>
    public long Kernel => _context.Counters[_kernelCounter];

    /// <summary>Instructions counted in all modules' code.</summary>
    public long Modules
    {
        get
        {
            long sum = 0;
            foreach (int c in _moduleCounters.Values) sum += _context.Counters[c];
            return sum;
        }
    }

    /// <summary>All instructions counted.</summary>
    public long Total => Kernel + Modules;

    /// <inheritdoc />
    public void Start(ToolContext context)
    {
        _context = context;
        _kernelCounter = context.AllocateCounter("kernel");
        context.ModuleLoaded += (_, module) => CounterOf(module);
        context.AddBlockPass(block =>
            block.CountRetiredInstructions(block.Module is null ? _kernelCounter : CounterOf(block.Module)));
        context.MachineStopped += Report;
    }

    private int CounterOf(ModuleInfo module)
    {
        if (!_moduleCounters.TryGetValue(module.Name, out int counter))
        {
            counter = _context.AllocateCounter("module." + module.Name);
            _moduleCounters[module.Name] = counter;
        }
        return counter;
    }

    private void Report(MachineRunResult result)
    {
        var output = _context.Output;
        string scope = InstrumentationScopeNames.Name(_context.Scope);
        output.WriteLine($"inscount: scope={scope} total={Total} kernel={Kernel} modules={Modules}");
        foreach (var (name, counter) in _moduleCounters)
            output.WriteLine($"inscount: module={name} count={_context.Counters[counter]}");
    }
}
