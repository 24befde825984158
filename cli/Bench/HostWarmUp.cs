using System.Diagnostics;

namespace Drk.Cli.Bench;

/// <summary>
/// Repeats a short run until .NET's tiered compilation has promoted the code it measures (on-stack
/// replacement and the background re-JIT take a fraction of a second), so the timed run that follows
/// is not partly unoptimised host code.
/// </summary>
internal static class HostWarmUp
{
    /// <summary>Calls <paramref name="round"/> at least <paramref name="rounds"/> times and for at least <paramref name="seconds"/>.</summary>
    public static void Run(Action round, int rounds = 3, double seconds = 0.5)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < rounds || Stopwatch.GetElapsedTime(start).TotalSeconds < seconds; i++)
            round();
    }
}
