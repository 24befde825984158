using System.Globalization;
using Drk.Experiments.Engines;
using Drk.Experiments.Matrix;
using Drk.Experiments.Recording;

namespace Drk.Experiments.Running;

/// <summary>
/// Decides whether a run succeeded and turns it into a record. A run is ok when the engine ran, did not time
/// out, the guest exited with status 0, and the guest printed a result line for the workload; otherwise the
/// first of these that failed is the reason.
/// </summary>
public static class RunJudge
{
    public static RunRecord Judge(
        PlannedRun run, EngineOutcome outcome, string experiment, string invocation, string host, DateTimeOffset started, TimeSpan timeout)
    {
        var result = GuestResultParser.ParseAll(outcome.Output).LastOrDefault(r => r.Workload == run.Workload.Name);
        var reason = FailureReason(run, outcome, result, timeout);
        return new RunRecord
        {
            Key = run.Key,
            Experiment = experiment,
            Invocation = invocation,
            Workload = run.Workload.Name,
            Engine = run.Variant.Engine,
            Tier = run.Variant.Tier,
            Tool = run.Variant.Tool,
            Scope = run.Variant.Scope,
            Vcpus = run.Variant.Vcpus,
            Warmup = run.Warmup,
            Repetition = run.Index,
            Status = reason is null ? RunStatus.Ok : RunStatus.Failed,
            Reason = reason,
            ExitCode = outcome.ExitCode,
            GuestStatus = outcome.GuestStatus,
            WallSeconds = outcome.WallSeconds,
            CpuSeconds = outcome.CpuSeconds,
            Cycles = result?.Cycles,
            Iterations = result?.Iterations,
            Checksum = result?.Checksum,
            Instructions = outcome.Instructions,
            Stats = outcome.Stats.Count > 0 ? outcome.Stats : null,
            StartedUtc = started,
            Host = host,
        };
    }

    private static string? FailureReason(PlannedRun run, EngineOutcome outcome, GuestResult? result, TimeSpan timeout)
    {
        if (outcome.TimedOut)
            return $"timed out after {timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s";
        if (outcome.EngineFailure is not null) return outcome.EngineFailure;
        if (outcome.GuestStatus is { } status && status != 0)
            return $"guest exited with status {status}{LastWords(outcome.Diagnostics)}";
        if (outcome.GuestStatus is null)
            return $"the engine exited with code {outcome.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "?"} without a guest status{LastWords(outcome.Diagnostics)}";
        if (result is null)
            return $"no result line for workload '{run.Workload.Name}' in the guest's output ({outcome.Output.Count} lines)";
        return null;
    }

    private static string LastWords(IReadOnlyList<string> diagnostics)
    {
        var last = diagnostics.LastOrDefault(l => !string.IsNullOrWhiteSpace(l));
        return last is null ? "" : $": {last.Trim()}";
    }
}
