using Drk.Experiments.Matrix;
using Drk.Experiments.Recording;

namespace Drk.Experiments.Running;

/// <summary>Receives the runner's events while a progress display is shown; called from parallel runs.</summary>
public interface IProgressReporter
{
    void Started(PlannedRun run);

    void Finished(PlannedRun run, RunRecord record);

    void Note(string message);
}
