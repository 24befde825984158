using System.Runtime.InteropServices;

namespace Drk.Cli.Bench;

/// <summary>
/// CPU time (user + system) used so far by this process's terminated, waited-for children
/// (getrusage RUSAGE_CHILDREN): the CPU time of a QEMU run is the difference around it. .NET's
/// <c>Process.TotalProcessorTime</c> is no longer readable once the child has exited.
/// </summary>
internal static partial class ChildCpuTime
{
    private const int RusageChildren = -1;

    /// <summary>The children's CPU time so far, or null where getrusage is not available.</summary>
    public static TimeSpan? Now()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return null;
        // struct rusage starts with ru_utime and ru_stime, two struct timeval {long sec; long usec}.
        Span<long> usage = stackalloc long[18];
        if (GetRusage(RusageChildren, ref MemoryMarshal.GetReference(usage)) != 0) return null;
        long micros = (usage[0] + usage[2]) * 1_000_000 + usage[1] + usage[3];
        return TimeSpan.FromMicroseconds(micros);
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, ref long usage);
}
