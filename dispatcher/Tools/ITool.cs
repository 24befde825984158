namespace Drk.Dispatcher.Tools;

/// <summary>
/// An analysis tool: a class that, given a <see cref="ToolContext"/> at start, registers block
/// passes, clean calls, counters, function wraps and event handlers.
/// </summary>
/// <remarks>
/// A tool is created once per run and started before the guest's first instruction. Everything
/// it registers runs on the host, never in the guest; it must not change guest state.
/// </remarks>
public interface ITool
{
    /// <summary>The name <c>--tool</c> selects it by (lower case, no spaces).</summary>
    string Name { get; }

    /// <summary>One line saying what the tool does, for <c>drk tools</c>.</summary>
    string Description { get; }

    /// <summary>Registers what the tool needs. Called once, before the guest runs.</summary>
    void Start(ToolContext context);
}
