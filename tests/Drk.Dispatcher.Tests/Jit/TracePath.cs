using Drk.Dispatcher.Tests.Execution;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>Where the hand-built blocks of the trace tests start (<see cref="IrTestKit.Block"/>), and where their paths leave.</summary>
internal static class TracePath
{
    public const ulong A = IrTestKit.CodeBase, B = IrTestKit.CodeBase + 0x40, C = IrTestKit.CodeBase + 0x80;

    /// <summary>An exit target outside every path.</summary>
    public const ulong Out = 0x5000;
}
