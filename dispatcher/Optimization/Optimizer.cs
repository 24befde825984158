using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Optimization;

/// <summary>
/// Runs the IR passes over a block in a fixed order, so the same input always gives the same
/// output (fault recovery re-lowers and re-optimises a block and relies on that).
/// </summary>
/// <remarks>
/// Passes keep working arrays between blocks, so use one optimiser per thread (per vCPU).
/// Order: forward registers (so thunk inputs and cc_op become visible constants), merge common
/// subexpressions, fold constants, specialise flag conditions, merge and fold again (the
/// specialised compares reuse truncations and may fold), delete dead puts, delete dead temps,
/// compact. Each pass keeps the block verifiable.
/// </remarks>
public sealed class Optimizer
{
    private readonly IIrPass[] _passes;

    public Optimizer()
    {
        _passes =
        [
            new RegisterForwarding(),
            new CommonSubexpressionElimination(),
            new ConstantFolding(),
            new FlagsSpecialisation(),
            new CommonSubexpressionElimination(),
            new ConstantFolding(),
            new DeadPutElimination(),
            new DeadTempElimination(),
        ];
    }

    /// <summary>The passes in the order they run.</summary>
    public IReadOnlyList<IIrPass> Passes => _passes;

    /// <summary>When set, the block is verified after every pass and a violation names the pass (tests, debug builds).</summary>
    public bool VerifyEachPass { get; init; }

    /// <summary>Optimises <paramref name="block"/> in place and removes the deleted ops.</summary>
    public void Optimize(IrBlock block)
    {
        foreach (var pass in _passes)
        {
            pass.Run(block);
            if (VerifyEachPass) IrVerifier.ThrowIfInvalid(block, pass.Name);
        }
        block.Compact();
    }
}
