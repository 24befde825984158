using System.Globalization;
using Drk.Experiments.Matrix;
using Drk.Experiments.Recording;

namespace Drk.Experiments.Running;

/// <summary>Progress as one line per finished run, for logs, CI and anything that is not a terminal.</summary>
public sealed class PlainProgress(TextWriter output) : IProgressDisplay
{
    public async Task ShowAsync(string title, int total, int alreadyDone, Func<IProgressReporter, Task> work)
    {
        lock (output) output.WriteLine($"{title}: {total - alreadyDone} runs to do ({alreadyDone} of {total} already recorded)");
        await work(new Reporter(output, total, alreadyDone)).ConfigureAwait(false);
    }

    public void Note(string message)
    {
        lock (output) output.WriteLine(message);
    }

    /// <summary>Counts finished runs and prints each one.</summary>
    private sealed class Reporter(TextWriter output, int total, int done) : IProgressReporter
    {
        private int _done = done;

        public void Started(PlannedRun run)
        {
        }

        public void Finished(PlannedRun run, RunRecord record)
        {
            var n = Interlocked.Increment(ref _done);
            var width = total.ToString(CultureInfo.InvariantCulture).Length;
            var status = record.Status == RunStatus.Ok ? "ok    " : "FAILED";
            var line = $"[{n.ToString(CultureInfo.InvariantCulture).PadLeft(width)}/{total}] {status} {record.WallSeconds.ToString("0.000", CultureInfo.InvariantCulture),9} s  {run}";
            if (record.Reason is not null) line += $": {record.Reason}";
            lock (output) output.WriteLine(line);
        }

        public void Note(string message)
        {
            lock (output) output.WriteLine(message);
        }
    }
}
