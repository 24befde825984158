using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tools;

/// <summary>What a <see cref="ToolHost"/> needs from the command that runs the guest.</summary>
public sealed class ToolHostOptions
{
    /// <summary>Which kernel code is instrumented.</summary>
    public InstrumentationScope Scope { get; init; } = InstrumentationScope.KernelAndModules;

    /// <summary>Finds a guest function by symbol (the kernel's symbol table); null when symbols are not available.</summary>
    public Func<string, GuestFunction?>? FindFunction { get; init; }

    /// <summary>
    /// The kernel function that switches a vCPU from one thread's stack to another's, called as
    /// <c>f(u64 *save_rsp, u64 new_rsp)</c>: its entry raises <see cref="ToolContext.ContextSwitched"/>
    /// (the guest kernel's <c>switch_stacks</c>, docs/guest-abi.md).
    /// </summary>
    public string ContextSwitchFunction { get; init; } = "switch_stacks";

    /// <summary>Turns guest addresses into module, function and line, for tools' reports.</summary>
    public IAddressSymbolizer? Symbolizer { get; init; }

    /// <summary>Where tools print their results (the CLI passes stderr).</summary>
    public TextWriter Output { get; init; } = TextWriter.Null;

    /// <summary>Where a module whose symbols cannot be read is reported (one line each); the run goes on without them.</summary>
    public TextWriter Diagnostics { get; init; } = TextWriter.Null;

    /// <summary>Where the report channel writes its JSON lines at machine stop (<c>--report F</c>); null for none.</summary>
    public TextWriter? ReportJsonLines { get; init; }
}
