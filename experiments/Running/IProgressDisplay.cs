namespace Drk.Experiments.Running;

/// <summary>Shows the runner's progress: a live bar on a terminal, plain lines in CI and logs.</summary>
public interface IProgressDisplay
{
    /// <summary>Runs <paramref name="work"/> while showing progress towards <paramref name="total"/> runs.</summary>
    Task ShowAsync(string title, int total, int alreadyDone, Func<IProgressReporter, Task> work);

    /// <summary>A message outside any progress display.</summary>
    void Note(string message);
}
