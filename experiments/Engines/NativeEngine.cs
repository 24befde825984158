using Drk.Experiments.Specs;

namespace Drk.Experiments.Engines;

/// <summary>
/// Runs a host build of a workload as an ordinary process (the spec's <c>native-program</c>, with the
/// workload's <c>args</c> as arguments). It prints the same result line as the guest and exits 0 on success.
/// </summary>
public sealed class NativeEngine : IRunEngine
{
    public string Name => KnownNames.NameOf(EngineKind.Native);

    // Each cell checks its own program when the matrix is expanded; there is nothing global to miss.
    public Task<string?> CheckAvailabilityAsync(CancellationToken cancellation) => Task.FromResult<string?>(null);

    public async Task<EngineOutcome> RunAsync(RunRequest request, CancellationToken cancellation)
    {
        if (request.NativeProgram is null)
            return new EngineOutcome { WallSeconds = 0, EngineFailure = "the spec names no native-program" };
        var args = (request.Workload.Args ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var result = await ChildProcess.RunAsync(request.NativeProgram, args, request.Timeout, cancellation).ConfigureAwait(false);
        return new EngineOutcome
        {
            WallSeconds = result.WallSeconds,
            CpuSeconds = result.CpuSeconds,
            ExitCode = result.ExitCode,
            TimedOut = result.TimedOut,
            GuestStatus = result.ExitCode,
            EngineFailure = result.StartError,
            Output = result.Stdout,
            Diagnostics = result.Stderr,
        };
    }
}
