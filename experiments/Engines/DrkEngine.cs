using System.Globalization;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Engines;

/// <summary>
/// Runs the guest under Drk by invoking <c>drk run</c> as a child process with the documented flags
/// (<c>--initrd --append --smp --memory --tier --tool --scope --max-instructions --stats</c>). <c>drk run</c>
/// prints the guest's console on standard output and exits with the guest's status.
/// </summary>
public sealed class DrkEngine(DrkLauncher launcher) : IRunEngine
{
    /// <summary>What System.CommandLine prints when it rejects a command line.</summary>
    private static readonly string[] UsageErrors = ["Unrecognized command or argument", "Required argument missing", "Cannot parse argument"];

    public string Name => KnownNames.NameOf(EngineKind.Drk);

    public async Task<string?> CheckAvailabilityAsync(CancellationToken cancellation)
    {
        // Asking for the verb's help is cheap and tells a build without `drk run` apart from a failing guest,
        // so that an experiment does not record hundreds of identical failures.
        var probe = await ChildProcess.RunAsync(
            launcher.FileName, [.. launcher.PrefixArguments, "run", "--help"], TimeSpan.FromMinutes(1), cancellation).ConfigureAwait(false);
        if (probe.StartError is not null) return probe.StartError;
        // Without the verb, System.CommandLine answers `run --help` with the root's help and exit 0, so the
        // usage line is what tells.
        var hasVerb = probe.ExitCode == 0 && probe.Stdout.Any(l => l.Trim().StartsWith("drk run", StringComparison.Ordinal));
        return hasVerb ? null : $"this build of drk has no `run` command yet ({launcher} run --help does not show its usage)";
    }

    public async Task<EngineOutcome> RunAsync(RunRequest request, CancellationToken cancellation)
    {
        var result = await ChildProcess.RunAsync(launcher.FileName, [.. launcher.PrefixArguments, .. Arguments(request)], request.Timeout, cancellation)
            .ConfigureAwait(false);
        if (result.StartError is not null)
            return new EngineOutcome { WallSeconds = 0, EngineFailure = result.StartError };
        var (instructions, stats) = DrkStatsParser.Parse(result.Stderr);
        // A command-line error of drk itself also exits non-zero; it must not read as the guest's status.
        var usageError = result.ExitCode is not (null or 0)
            ? result.Stderr.FirstOrDefault(l => UsageErrors.Any(u => l.Contains(u, StringComparison.Ordinal)))
            : null;
        return new EngineOutcome
        {
            WallSeconds = result.WallSeconds,
            CpuSeconds = result.CpuSeconds,
            ExitCode = result.ExitCode,
            TimedOut = result.TimedOut,
            GuestStatus = usageError is null ? result.ExitCode : null,
            EngineFailure = usageError is null ? null : $"drk run rejected its arguments: {usageError.Trim()}",
            Output = result.Stdout,
            Diagnostics = result.Stderr,
            Instructions = instructions,
            Stats = stats,
        };
    }

    /// <summary>The <c>drk run ...</c> arguments for a request.</summary>
    public static IReadOnlyList<string> Arguments(RunRequest request)
    {
        var v = request.Variant;
        var args = new List<string> { "run", request.Guest.Kernel };
        if (request.Guest.Initrd is { } initrd) args.AddRange(["--initrd", initrd]);
        args.AddRange(["--append", request.CommandLine]);
        args.AddRange(["--smp", v.Vcpus.ToString(CultureInfo.InvariantCulture)]);
        args.AddRange(["--memory", request.Guest.Memory]);
        if (v.Tier.Length > 0) args.AddRange(["--tier", v.Tier]);
        if (v.Tool.Length > 0 && v.Tool != KnownNames.NoTool)
        {
            // A tool assembly's path is relative to the spec, not to wherever the runner was started.
            args.AddRange(["--tool", request.ToolAssembly ?? v.Tool]);
            if (v.Scope.Length > 0) args.AddRange(["--scope", v.Scope]);
        }
        if (request.MaxInstructions is { } max) args.AddRange(["--max-instructions", max.ToString(CultureInfo.InvariantCulture)]);
        args.Add("--stats");
        return args;
    }
}
