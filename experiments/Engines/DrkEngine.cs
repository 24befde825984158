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
    public string Name => KnownNames.NameOf(EngineKind.Drk);

    public async Task<string?> CheckAvailabilityAsync(CancellationToken cancellation)
    {
        // Asking for the verb's help is cheap and tells a build without `drk run` apart from a failing guest,
        // so that an experiment does not record hundreds of identical failures.
        var probe = await ChildProcess.RunAsync(
            launcher.FileName, [.. launcher.PrefixArguments, "run", "--help"], TimeSpan.FromMinutes(1), cancellation).ConfigureAwait(false);
        if (probe.StartError is not null) return probe.StartError;
        return probe.ExitCode == 0 ? null : $"this build of drk has no working `run` command yet ({launcher} run --help exited {probe.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "on time-out"})";
    }

    public async Task<EngineOutcome> RunAsync(RunRequest request, CancellationToken cancellation)
    {
        var result = await ChildProcess.RunAsync(launcher.FileName, [.. launcher.PrefixArguments, .. Arguments(request)], request.Timeout, cancellation)
            .ConfigureAwait(false);
        if (result.StartError is not null)
            return new EngineOutcome { WallSeconds = 0, EngineFailure = result.StartError };
        var (instructions, stats) = DrkStatsParser.Parse(result.Stderr);
        return new EngineOutcome
        {
            WallSeconds = result.WallSeconds,
            ExitCode = result.ExitCode,
            TimedOut = result.TimedOut,
            GuestStatus = result.ExitCode,
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
            args.AddRange(["--tool", v.Tool]);
            if (v.Scope.Length > 0) args.AddRange(["--scope", v.Scope]);
        }
        if (request.MaxInstructions is { } max) args.AddRange(["--max-instructions", max.ToString(CultureInfo.InvariantCulture)]);
        args.Add("--stats");
        return args;
    }
}
