using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Symbols;
using Drk.Dispatcher.Tools.Reports;
using Drk.Hv;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tools;

/// <summary>
/// The tools of one run and the machinery they share: it starts them, instruments each block a
/// vCPU translates (function wraps first, then every tool's passes, for blocks in scope), runs
/// their clean calls and counters in every tier, and raises their events.
/// </summary>
/// <remarks>
/// Give it to <see cref="MachineRunOptions.Tools"/>; the <see cref="MachineRunner"/> attaches
/// it to the vCPUs and starts the tools before the guest runs, and
/// <see cref="Stop(MachineRunResult)"/> ends the run for them. User-mode blocks are never
/// instrumented. Not thread-safe: vCPUs run round-robin on one thread.
/// </remarks>
public sealed class ToolHost
{
    private readonly List<ITool> _tools;
    private readonly List<IBlockPass> _passes = new();
    private readonly List<ToolVcpu> _vcpus = new();
    private bool _started;
    private bool _stopped;

    /// <summary>A host for <paramref name="tools"/> (none is fine: then only module tracking runs).</summary>
    public ToolHost(IEnumerable<ITool> tools, ToolHostOptions? options = null)
    {
        _tools = new List<ITool>(tools);
        Options = options ?? new ToolHostOptions();
        Symbols = Options.Symbolizer ?? NoSymbols.Instance;
        Wrapper = new FunctionWrapper(this);
        _unwinder = new FramePointerUnwinder(Symbols as ICodeMap);
    }

    private readonly FramePointerUnwinder _unwinder;

    // The kernel's stack switch (0: no tool wants context switches) and the clean call at its entry.
    private ulong _contextSwitchEntry;
    private ulong _contextSwitchCall;

    /// <summary>The options the host was made with.</summary>
    public ToolHostOptions Options { get; }

    /// <summary>The tools, in the order they were given.</summary>
    public IReadOnlyList<ITool> Tools => _tools;

    /// <summary>The clean-call callbacks of every tool; shared by all vCPUs and tiers.</summary>
    public CleanCallTable CleanCalls { get; } = new();

    /// <summary>The inline counters of every tool; shared by all vCPUs and tiers.</summary>
    public CounterTable Counters { get; } = new();

    /// <summary>The modules loaded now.</summary>
    public ModuleRegistry Modules { get; } = new();

    /// <summary>Symbolisation for tools.</summary>
    public IAddressSymbolizer Symbols { get; }

    /// <summary>The channel tools report errors through (made when first used, or when a JSON-lines file is asked for).</summary>
    public ReportChannel Reports => _reports ??= new ReportChannel(Options.Output, Symbols) { JsonLines = Options.ReportJsonLines };

    private ReportChannel? _reports;

    /// <summary>Bytes of guest RAM (physical addresses 0 to this): the extent of a shadow map.</summary>
    public ulong GuestRamBytes { get; private set; }

    /// <summary>Blocks that tools' passes instrumented.</summary>
    public long BlocksInstrumented { get; private set; }

    /// <summary>Blocks translated at CPL 0 outside the scope (run uninstrumented, function wraps aside).</summary>
    public long BlocksOutOfScope { get; private set; }

    /// <summary>Module load events seen.</summary>
    public int ModuleLoads { get; private set; }

    /// <summary>The vCPU whose block is running (clean calls run on it).</summary>
    internal ToolVcpu? Current;

    internal FunctionWrapper Wrapper { get; }

    internal event Action<ToolVcpu, ModuleInfo>? ModuleLoaded;
    internal event Action<ToolVcpu, ModuleInfo>? ModuleUnloading;
    internal event Action<ToolVcpu, KernelEntry>? KernelEntered;
    internal event Action<ToolVcpu, ContextSwitch>? ContextSwitched;
    internal event Action<MachineRunResult>? MachineStopped;

    /// <summary>Raised for the host's owner after a module's symbols were added and the tools' own load handlers ran.</summary>
    public event Action<ModuleInfo>? ModuleAdded;

    /// <summary>Raised for the host's owner after the tools' unload handlers, before the module's symbols are dropped.</summary>
    public event Action<ModuleInfo>? ModuleRemoved;

    internal void AddPass(IBlockPass pass)
    {
        ArgumentNullException.ThrowIfNull(pass);
        _passes.Add(pass);
    }

    /// <summary>Makes the tool view of <paramref name="vcpu"/> (called by its dispatcher).</summary>
    internal ToolVcpu Register(Vcpu vcpu, PhysicalMemory memory)
    {
        GuestRamBytes = memory.RamSize;
        var view = new ToolVcpu(vcpu, memory, _unwinder);
        while (_vcpus.Count <= vcpu.Index) _vcpus.Add(null!);
        _vcpus[vcpu.Index] = view;
        vcpu.Delivering += OnDelivering;
        return view;
    }

    /// <summary>Starts the tools (once; the runner calls it before the guest runs).</summary>
    public void Start()
    {
        if (_started) return;
        _started = true;
        Current = _vcpus.Count > 0 ? _vcpus[0] : null;
        var module = Options.FindFunction?.Invoke("drk_module_event");
        if (module is { } f) Wrapper.Wrap(f, OnModuleEvent, null);
        foreach (var tool in _tools) tool.Start(new ToolContext(this, tool));
        // Hooked only when a tool wants it: a clean call at every switch costs little, none costs nothing.
        if (ContextSwitched is not null && Options.FindFunction?.Invoke(Options.ContextSwitchFunction) is { } switcher)
        {
            _contextSwitchEntry = switcher.Address;
            _contextSwitchCall = CleanCalls.Register((fromRsp, toRsp, _, _) =>
                ContextSwitched?.Invoke(Current!, new ContextSwitch(fromRsp, toRsp, Current!.Cr3)));
        }
    }

    /// <summary>Ends the run for the tools: they print their results.</summary>
    public void Stop(MachineRunResult result)
    {
        if (_stopped) return;
        _stopped = true;
        MachineStopped?.Invoke(result);
        if (_reports is not null || Options.ReportJsonLines is not null) Reports.Complete();
    }

    /// <summary>
    /// The block as it should run: instrumented by the wraps and the tools' passes when it is
    /// kernel code in scope, unchanged otherwise.
    /// </summary>
    internal IrBlock Instrument(IrBlock block, int cpl)
    {
        if (cpl == 3) return block;
        var module = Modules.ModuleOfCode(block.StartRip);
        var region = module is null ? CodeRegion.Kernel : CodeRegion.Module;
        bool inScope = _passes.Count > 0 && InstrumentationScopeNames.Covers(Options.Scope, region);
        if (!inScope && !Wrapper.Any && _contextSwitchEntry == 0) return block;
        var view = new InstrumentedBlock(block, cpl, region, module);
        if (Wrapper.Any) Wrapper.Instrument(view);
        if (_contextSwitchEntry != 0) InsertContextSwitchHook(view);
        if (inScope)
        {
            foreach (var pass in _passes) pass.Analyze(view);
            foreach (var pass in _passes) pass.Insert(view);
            BlocksInstrumented++;
        }
        else
        {
            BlocksOutOfScope++;
        }
        return view.Finish();
    }

    /// <summary>A SYSCALL retired on <paramref name="vcpu"/>; <paramref name="nextRip"/> is where SYSRET returns.</summary>
    internal void OnSyscall(ToolVcpu vcpu, ulong nextRip)
    {
        if (KernelEntered is null) return;
        KernelEntered(vcpu, new KernelEntry(KernelEntryKind.Syscall, (int)vcpu.Rax, 3, nextRip));
    }

    /// <summary>True when some tool wants kernel-entry events (the dispatcher checks before looking for SYSCALL).</summary>
    internal bool WantsKernelEntries => KernelEntered is not null;

    private void OnDelivering(Vcpu vcpu, InterruptKind kind, byte vector, ulong rip)
    {
        if (KernelEntered is null) return;
        var entryKind = kind switch
        {
            InterruptKind.Exception => KernelEntryKind.Exception,
            InterruptKind.SoftwareInterrupt => KernelEntryKind.SoftwareInterrupt,
            _ => KernelEntryKind.Interrupt,
        };
        KernelEntered(_vcpus[vcpu.Index], new KernelEntry(entryKind, vector, vcpu.State.Cpl, rip));
    }

    /// <summary>
    /// A clean call at the context switch's entry with RSP and the second argument (RSI) as they
    /// are there. Not a function wrap: a wrap records each call (an object, the return address
    /// read from the stack) to pair it with its RET, and a stack switch returns on another stack.
    /// </summary>
    private void InsertContextSwitchHook(InstrumentedBlock view)
    {
        foreach (var insn in view.Instructions)
        {
            if (insn.Rip != _contextSwitchEntry) continue;
            var ir = view.InsertBefore(insn);
            ir.CleanCall(_contextSwitchCall, ir.GetReg(GuestReg.Rsp), ir.GetReg(GuestReg.Rsi), IrValue.None, IrValue.None);
        }
    }

    private void OnModuleEvent(WrappedCall call)
    {
        var vcpu = call.Vcpu;
        // The image is copied only when someone can receive it: a tool's load handler or the CLI's symbolisation.
        bool wantImage = ModuleAdded is not null || ModuleLoaded is not null || Symbols is Symbolizer;
        var module = ModuleDescriptor.Read(vcpu, call.Argument(0), wantImage, out int kind);
        if (module is null) return;
        if (kind == ModuleDescriptor.EventLoad)
        {
            ModuleLoads++;
            Modules.Add(module);
            // Symbols first: a tool's load handler may symbolise the module's own addresses.
            AddSymbols(module);
            ModuleLoaded?.Invoke(vcpu, module);
            ModuleAdded?.Invoke(module);
        }
        else if (kind == ModuleDescriptor.EventUnload)
        {
            var loaded = Modules.Remove(module.Name, module.Text.Start) ?? module;
            // Symbols last: an unload handler may still report inside the module.
            ModuleUnloading?.Invoke(vcpu, loaded);
            ModuleRemoved?.Invoke(loaded);
            if (Symbols is Symbolizer symbols) symbols.RemoveModule(loaded.Name);
        }
    }

    /// <summary>Adds a loaded module's symbols (from its ELF image, at its section addresses) to the host's symboliser, when that is a <see cref="Symbolizer"/>.</summary>
    private void AddSymbols(ModuleInfo module)
    {
        if (Symbols is not Symbolizer symbols || module.Image is null) return;
        try
        {
            symbols.AddModule(module.Name, module.Image, module.SectionAddresses);
        }
        catch (Exception e) when (e is SymbolFileException or ArgumentException)
        {
            Options.Diagnostics.WriteLine($"drk: module {module.Name}: no symbols ({e.Message})");
        }
    }
}
