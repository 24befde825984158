using System.Runtime.CompilerServices;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Jit;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// <c>DRK_TIER=jit</c> (or <c>auto</c>) runs every <see cref="GuestRunner"/> of this test assembly
/// through that tier instead of the interpreter, so the differential, lowering and execution
/// suites check the JIT too. Unset or <c>interp</c>: the interpreter, as always.
/// </summary>
internal static class TierEnvironment
{
    /// <summary>The tier named by <c>DRK_TIER</c>.</summary>
    public static ExecutionTier Requested { get; } = Parse(Environment.GetEnvironmentVariable("DRK_TIER"));

#pragma warning disable CA2255 // A test assembly is exactly where a process-wide default may be set before anything runs.
    [ModuleInitializer]
    internal static void Apply() => GuestRunner.DefaultTier = Requested;
#pragma warning restore CA2255

    private static ExecutionTier Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "interp" or "interpreter" => ExecutionTier.Interpreter,
        "jit" => ExecutionTier.Jit,
        "auto" => ExecutionTier.Auto,
        _ => throw new InvalidOperationException($"DRK_TIER={text}: expected interp, jit or auto"),
    };
}
