using Drk.Guest.Tests;

namespace Drk.EndToEnd.Tests;

/// <summary>Runs the <c>drk</c> command (the Release build the test project references) as a child process.</summary>
public static class DrkCli
{
    /// <summary>cli/bin/Release/net10.0/drk.dll, built with these tests.</summary>
    public static string Dll => Path.Combine(RepositoryRoot.Path, "cli", "bin", "Release", "net10.0", "drk.dll");

    /// <summary>Runs <c>drk ARGS</c> and waits at most <paramref name="timeout"/> (default two minutes).</summary>
    public static Task<ProcessResult> RunAsync(IEnumerable<string> arguments, TimeSpan? timeout = null) =>
        ProcessRunner.RunAsync("dotnet", [Dll, .. arguments], timeout ?? TimeSpan.FromMinutes(2));

    /// <summary>A summary for assertion messages.</summary>
    public static string Describe(ProcessResult r) =>
        $"drk exit code {r.ExitCode}, timed out: {r.TimedOut}, {r.Elapsed.TotalSeconds:F2} s\nstderr:\n{r.StandardError}\nstdout:\n{r.StandardOutput}";
}
