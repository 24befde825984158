using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Optimization;

/// <summary>A transformation of one block's IR that keeps its guest-visible behaviour, faults included.</summary>
public interface IIrPass
{
    /// <summary>Short name for dumps and error messages.</summary>
    string Name { get; }

    /// <summary>Rewrites <paramref name="block"/> in place; deleted ops become <see cref="IrOpcode.Nop"/>.</summary>
    void Run(IrBlock block);
}
