using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Symbols;
using Drk.Dispatcher.Tools.Reports;
using Drk.Dispatcher.Tools.Shadow;

namespace Drk.Dispatcher.Tools;

/// <summary>
/// What a tool is given at start: registration of block passes, clean calls, inline counters,
/// function wraps and events, and the run's scope, modules, symbols and output.
/// </summary>
public sealed class ToolContext
{
    private readonly ToolHost _host;

    internal ToolContext(ToolHost host, ITool tool)
    {
        _host = host;
        Tool = tool;
    }

    /// <summary>The tool this context belongs to.</summary>
    public ITool Tool { get; }

    /// <summary>Which kernel code blocks passes see (<c>--scope</c>).</summary>
    public InstrumentationScope Scope => _host.Options.Scope;

    /// <summary>The modules loaded now.</summary>
    public ModuleRegistry Modules => _host.Modules;

    /// <summary>Symbolisation of guest addresses; a symboliser that knows nothing when the kernel has no symbols.</summary>
    public IAddressSymbolizer Symbols => _host.Symbols;

    /// <summary>Where the tool prints its results for people.</summary>
    public TextWriter Output => _host.Options.Output;

    /// <summary>Where the tool reports errors: symbolised, folded, printed, written as JSON lines.</summary>
    public ReportChannel Reports => _host.Reports;

    /// <summary>Bytes of guest physical RAM.</summary>
    public ulong GuestRamBytes => _host.GuestRamBytes;

    /// <summary>A shadow map over all of guest physical RAM, <paramref name="width"/> bits per byte, every byte <paramref name="initial"/> (untouched regions cost almost nothing).</summary>
    public ShadowMemory CreateShadowMemory(ShadowWidth width, byte initial = 0) => new(GuestRamBytes, width, initial);

    /// <summary>The inline counters (read them at machine stop).</summary>
    public CounterTable Counters => _host.Counters;

    /// <summary>Adds a block pass: it sees every block in scope, in both phases.</summary>
    public void AddBlockPass(IBlockPass pass) => _host.AddPass(pass);

    /// <summary>Adds an insertion-only block pass given as a method.</summary>
    public void AddBlockPass(Action<InstrumentedBlock> insert) => _host.AddPass(new DelegateBlockPass(insert));

    /// <summary>Registers a clean-call callback; pass the number to <see cref="IR.IrBuilder.CleanCall"/>.</summary>
    public ulong RegisterCleanCall(CleanCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var host = _host;
        return host.CleanCalls.Register((a, b, c, d) => callback(host.Current!, a, b, c, d));
    }

    /// <summary>Allocates an inline counter named <paramref name="name"/>; pass its number to <see cref="IR.IrBuilder.CounterAdd"/>.</summary>
    public int AllocateCounter(string name) => _host.Counters.Allocate($"{Tool.Name}.{name}");

    /// <summary>Finds a guest kernel function by symbol.</summary>
    public bool TryFindFunction(string symbol, out GuestFunction function)
    {
        var found = _host.Options.FindFunction?.Invoke(symbol);
        function = found ?? default;
        return found is not null;
    }

    /// <summary>
    /// Wraps the guest kernel function <paramref name="symbol"/>: <paramref name="pre"/> runs at its
    /// entry (arguments readable), <paramref name="post"/> when it returns (return value readable).
    /// False when the symbol is unknown.
    /// </summary>
    public bool WrapFunction(string symbol, WrapCallback? pre, WrapCallback? post)
    {
        if (!TryFindFunction(symbol, out var function)) return false;
        _host.Wrapper.Wrap(function, pre, post);
        return true;
    }

    /// <summary>A module was loaded (relocated, before its init runs).</summary>
    public event Action<ToolVcpu, ModuleInfo>? ModuleLoaded
    {
        add => _host.ModuleLoaded += value;
        remove => _host.ModuleLoaded -= value;
    }

    /// <summary>A module is being unloaded (after its cleanup, before its memory is freed).</summary>
    public event Action<ToolVcpu, ModuleInfo>? ModuleUnloading
    {
        add => _host.ModuleUnloading += value;
        remove => _host.ModuleUnloading -= value;
    }

    /// <summary>Control enters the kernel: syscall, exception, interrupt.</summary>
    public event Action<ToolVcpu, KernelEntry>? KernelEntered
    {
        add => _host.KernelEntered += value;
        remove => _host.KernelEntered -= value;
    }

    /// <summary>
    /// The kernel switches threads on a vCPU (its stack switch, <see cref="ToolHostOptions.ContextSwitchFunction"/>,
    /// begins; the vCPU still runs the outgoing thread). Subscribe in <see cref="ITool.Start"/>: the
    /// host puts a clean call at the switch's entry only when some tool wants it.
    /// </summary>
    public event Action<ToolVcpu, ContextSwitch>? ContextSwitched
    {
        add => _host.ContextSwitched += value;
        remove => _host.ContextSwitched -= value;
    }

    /// <summary>The machine stopped; print results here.</summary>
    public event Action<MachineRunResult>? MachineStopped
    {
        add => _host.MachineStopped += value;
        remove => _host.MachineStopped -= value;
    }
}
