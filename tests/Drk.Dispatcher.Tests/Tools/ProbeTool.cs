using Drk.Dispatcher.Tools;

namespace Drk.Dispatcher.Tests.Tools;

/// <summary>A tool made of a start method, for tests that register one pass, clean call or wrap.</summary>
internal sealed class ProbeTool(Action<ToolContext> start) : ITool
{
    public string Name => "probe";

    public string Description => "registers what the test asks";

    public void Start(ToolContext context) => start(context);
}
