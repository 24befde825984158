using System.Runtime.InteropServices;

namespace Drk.Experiments.Engines;

/// <summary>
/// Host CPU time (user + system) of one engine process, from getrusage(RUSAGE_CHILDREN) before and after it:
/// unlike wall time it hardly moves when other work shares the machine, which is the normal state of a build
/// machine. RUSAGE_CHILDREN sums every reaped child of the runner, so a measurement is only kept when no other
/// child ran at the same time (<c>--jobs 1</c>); .NET cannot read a child's own times once it has exited.
/// </summary>
internal static partial class ChildCpuClock
{
    private const int RusageChildren = -1;
    private static readonly Lock Gate = new();
    private static readonly List<Measurement> Running = [];

    /// <summary>Starts measuring a child that is about to start.</summary>
    public static Measurement Start()
    {
        var m = new Measurement(Now());
        lock (Gate)
        {
            if (Running.Count > 0)
            {
                m.Overlapped = true;
                foreach (var other in Running) other.Overlapped = true;
            }
            Running.Add(m);
        }
        return m;
    }

    /// <summary>The child's CPU seconds, or null when another child overlapped it or getrusage is not there.</summary>
    public static double? Stop(Measurement m)
    {
        var end = Now();
        lock (Gate)
        {
            Running.Remove(m);
            if (m.Overlapped || m.Start is null || end is null) return null;
        }
        return (end.Value - m.Start.Value) / 1e6;
    }

    /// <summary>Microseconds of CPU time of every reaped child so far.</summary>
    private static long? Now()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return null;
        // struct rusage begins with ru_utime and ru_stime, each a struct timeval {long sec; long usec}.
        Span<long> usage = stackalloc long[18];
        if (GetRusage(RusageChildren, ref MemoryMarshal.GetReference(usage)) != 0) return null;
        return (usage[0] + usage[2]) * 1_000_000 + usage[1] + usage[3];
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, ref long usage);

    /// <summary>One child's measurement in progress.</summary>
    internal sealed class Measurement(long? start)
    {
        public long? Start { get; } = start;

        /// <summary>Set when another child ran during this one, which makes the RUSAGE_CHILDREN difference meaningless.</summary>
        public bool Overlapped { get; set; }
    }
}
