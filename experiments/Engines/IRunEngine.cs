namespace Drk.Experiments.Engines;

/// <summary>Something that can boot the guest with a workload and measure it: Drk, QEMU, a native build, or a fake.</summary>
public interface IRunEngine
{
    /// <summary>The spec's name for the engine (<c>drk</c>, <c>qemu-tcg</c>, ...).</summary>
    string Name { get; }

    /// <summary>Null when the engine can run here; otherwise why not, with what to install or build.</summary>
    Task<string?> CheckAvailabilityAsync(CancellationToken cancellation);

    /// <summary>
    /// Performs one run. Failures of the guest or the engine are reported in the outcome, never thrown;
    /// only cancellation throws.
    /// </summary>
    Task<EngineOutcome> RunAsync(RunRequest request, CancellationToken cancellation);
}
