namespace Drk.Dispatcher.Jit;

/// <summary>What a <see cref="JitTier"/> knows about one block: how often it ran interpreted, whether it asked for it to be compiled, and the code once there is some.</summary>
internal sealed class JitBlockState(JitTier tier)
{
    /// <summary>The tier (hence the vCPU and memory) the code was compiled for.</summary>
    public readonly JitTier Tier = tier;

    /// <summary>Interpreted executions so far (counts up to the threshold only).</summary>
    public int Executions;

    /// <summary>Set once compilation was asked for (queued, done or failed): never asked twice.</summary>
    public bool Requested;

    /// <summary>The compiled code; written once, possibly by the background compiler, read with acquire semantics.</summary>
    public CompiledBlock? Compiled;
}
