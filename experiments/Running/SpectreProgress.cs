using Drk.Experiments.Matrix;
using Drk.Experiments.Recording;
using Spectre.Console;

namespace Drk.Experiments.Running;

/// <summary>A live progress bar (Spectre.Console) for terminals; failures are printed above it as they happen.</summary>
public sealed class SpectreProgress(IAnsiConsole console) : IProgressDisplay
{
    public Task ShowAsync(string title, int total, int alreadyDone, Func<IProgressReporter, Task> work) =>
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new ElapsedTimeColumn(),
                new RemainingTimeColumn(),
                new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: total);
                task.Value = alreadyDone;
                await work(new Reporter(console, task, title)).ConfigureAwait(false);
            });

    public void Note(string message) => console.MarkupLine(Markup.Escape(message));

    /// <summary>Advances the bar and shows the run in progress in its description.</summary>
    private sealed class Reporter(IAnsiConsole console, ProgressTask task, string title) : IProgressReporter
    {
        private readonly object _gate = new();
        private int _failed;

        public void Started(PlannedRun run)
        {
            lock (_gate) task.Description = Markup.Escape($"{title}: {run.Workload.Name} on {run.Variant}");
        }

        public void Finished(PlannedRun run, RunRecord record)
        {
            lock (_gate)
            {
                task.Increment(1);
                if (record.Status != RunStatus.Ok)
                {
                    _failed++;
                    console.MarkupLine($"[red]failed[/] {Markup.Escape(run.ToString())}: {Markup.Escape(record.Reason ?? "")}");
                }
                if (task.Value >= task.MaxValue)
                    task.Description = Markup.Escape(_failed == 0 ? $"{title}: done" : $"{title}: done, {_failed} failed");
            }
        }

        public void Note(string message)
        {
            lock (_gate) console.MarkupLine(Markup.Escape(message));
        }
    }
}
