using Drk.Experiments.Engines;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Engines;

/// <summary>
/// Builds Fixtures/stub-kernel.S (a PVH kernel that prints its command line and a result line, then powers off
/// with status 0) once per test run, so that the QEMU engine is tested for real before the guest has workloads.
/// </summary>
internal static class StubKernel
{
    private static readonly Lazy<Task<(string? Path, string? Missing)>> Built = new(BuildAsync);

    /// <summary>The stub's path, or why it cannot be built or run here (the caller skips).</summary>
    public static Task<(string? Path, string? Missing)> GetAsync() => Built.Value;

    private static async Task<(string?, string?)> BuildAsync()
    {
        foreach (var tool in new[] { "qemu-system-x86_64", "gcc", "ld" })
            if (ExecutableSearch.Find(tool) is null) return (null, $"{tool} is not installed");
        var dir = Path.Combine(Path.GetTempPath(), "drk-experiments-tests", "stub-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var source = Path.Combine(TempExperiment.RepositoryRoot, "tests", "Drk.Experiments.Tests", "Fixtures", "stub-kernel.S");
        var obj = Path.Combine(dir, "stub.o");
        var elf = Path.Combine(dir, "stub.elf");
        var limit = TimeSpan.FromMinutes(1);
        var cc = await ChildProcess.RunAsync("gcc", ["-c", "-o", obj, source], limit, CancellationToken.None);
        if (cc.ExitCode != 0) return (null, "gcc failed: " + string.Join(' ', cc.Stderr));
        var ld = await ChildProcess.RunAsync("ld", ["-m", "elf_x86_64", "-Ttext=0x100000", "-o", elf, obj], limit, CancellationToken.None);
        if (ld.ExitCode != 0) return (null, "ld failed: " + string.Join(' ', ld.Stderr));
        return (elf, null);
    }
}
