using Drk.Experiments.Engines;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Engines;

/// <summary>The real <c>drk</c> (cli/bin/Release/net10.0/drk.dll, built with these tests) and the real guest build.</summary>
internal static class RealDrk
{
    public static string Dll => Path.Combine(TempExperiment.RepositoryRoot, "cli", "bin", "Release", "net10.0", "drk.dll");

    public static string Kernel => Path.Combine(TempExperiment.RepositoryRoot, "guest", "build", "kernel.elf");

    public static string Initrd => Path.Combine(TempExperiment.RepositoryRoot, "guest", "build", "initrd");

    public static DrkLauncher Launcher => new("dotnet", [Dll]);

    /// <summary>Why the real drk cannot be used here, or null.</summary>
    public static string? Missing()
    {
        if (!File.Exists(Dll)) return $"drk is not built ({Dll})";
        if (!File.Exists(Kernel) || !File.Exists(Initrd)) return "the guest is not built (make -C guest)";
        return null;
    }

    /// <summary>Runs <c>drk ARGS</c> to the end.</summary>
    public static Task<ProcessResult> RunAsync(params string[] arguments) =>
        ChildProcess.RunAsync("dotnet", [Dll, .. arguments], TimeSpan.FromMinutes(3), CancellationToken.None);
}
