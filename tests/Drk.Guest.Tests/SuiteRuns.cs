using System.Collections.Concurrent;

namespace Drk.Guest.Tests;

/// <summary>
/// <c>run=all</c> booted in QEMU with 1 and 2 vCPUs, twice each, booted on first use and shared by the tests
/// that read them (an xunit class fixture), so the suite's seconds are spent once.
/// </summary>
public sealed class SuiteRuns
{
    /// <summary>The limit for one run=all boot: it takes seconds, but TCG on a loaded machine can be many times slower.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private readonly ConcurrentDictionary<(int Cpus, int Attempt), Lazy<Task<QemuRun>>> runs = new();

    /// <summary>The <paramref name="attempt"/>-th boot of run=all with <paramref name="cpus"/> vCPUs (0 or 1).</summary>
    public Task<QemuRun> GetAsync(GuestBuild build, int cpus, int attempt = 0) =>
        runs.GetOrAdd((cpus, attempt), key => new Lazy<Task<QemuRun>>(() => QemuRunner.RunAsync(
            new QemuOptions(build.KernelPath, build.InitrdPath, "run=all", key.Cpus, Timeout: Timeout)))).Value;
}
