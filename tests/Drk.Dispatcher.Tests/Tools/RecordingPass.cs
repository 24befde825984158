using Drk.Dispatcher.Tools;

namespace Drk.Dispatcher.Tests.Tools;

/// <summary>A block pass that logs each phase it is called in, under its name.</summary>
internal sealed class RecordingPass(string name, List<string> log) : IBlockPass
{
    public void Analyze(InstrumentedBlock block) => log.Add($"{name} analyse");

    public void Insert(InstrumentedBlock block) => log.Add($"{name} insert");
}
