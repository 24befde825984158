using Drk.Dispatcher.Tools;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// A tool that records what the tool API hands it on the real guest: module events, kernel
/// entries, context switches, the blocks its pass sees, and the calls of a wrapped <c>kmalloc</c>.
/// </summary>
public sealed class RecordingTool : ITool
{
    /// <summary>A module event: load or unload, the module as described, whether the registry still held it during the event, and the module the host's symbols named for its first text byte then.</summary>
    public readonly record struct ModuleEvent(bool Load, ModuleInfo Module, bool RegisteredDuringEvent, string? SymbolModuleDuringEvent);

    /// <summary>A block the pass saw: where it starts, its region and module, its CPL, and whether the module's text holds its start.</summary>
    public readonly record struct SeenBlock(ulong StartRip, CodeRegion Region, string? Module, int Cpl, bool InModuleText);

    public List<ModuleEvent> ModuleEvents { get; } = new();
    public List<KernelEntry> KernelEntries { get; } = new();
    public List<ContextSwitch> ContextSwitches { get; } = new();
    public List<SeenBlock> Blocks { get; } = new();
    public List<(ulong Size, ulong Result)> KmallocCalls { get; } = new();
    public int KmallocEntries { get; private set; }
    public bool KmallocWrapped { get; private set; }
    public List<string> LoadedAtStop { get; } = new();

    public string Name => "recording";

    public string Description => "records the tool API's events (tests)";

    public void Start(ToolContext context)
    {
        context.ModuleLoaded += (_, m) => ModuleEvents.Add(new ModuleEvent(true, m, Registered(context, m), context.Symbols.Symbolize(m.Text.Start).Module));
        context.ModuleUnloading += (_, m) => ModuleEvents.Add(new ModuleEvent(false, m, Registered(context, m), context.Symbols.Symbolize(m.Text.Start).Module));
        context.KernelEntered += (_, e) => KernelEntries.Add(e);
        context.ContextSwitched += (_, s) => ContextSwitches.Add(s);
        context.AddBlockPass(b => Blocks.Add(new SeenBlock(b.StartRip, b.Region, b.Module?.Name, b.Cpl, b.Module?.Text.Contains(b.StartRip) ?? false)));
        KmallocWrapped = context.WrapFunction("kmalloc", _ => KmallocEntries++, call => KmallocCalls.Add((call.Argument(0), call.ReturnValue)));
        context.MachineStopped += _ => { foreach (var m in context.Modules.Loaded) LoadedAtStop.Add(m.Name); };
    }

    private static bool Registered(ToolContext context, ModuleInfo module)
    {
        foreach (var m in context.Modules.Loaded)
            if (ReferenceEquals(m, module)) return true;
        return false;
    }
}
