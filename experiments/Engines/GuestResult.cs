namespace Drk.Experiments.Engines;

/// <summary>One workload's result line, as the guest printed it.</summary>
/// <param name="Fields">Every <c>key=value</c> of the line, including the ones with their own property.</param>
public sealed record GuestResult(
    string Workload, long? Iterations, string? Checksum, long? Cycles, IReadOnlyDictionary<string, string> Fields);
