using Drk.Dispatcher.Tests.Jit;

namespace Drk.Dispatcher.Tests.Tools;

/// <summary>
/// One clean-call callback registered on both sides of a <see cref="TierTwin"/> (same number on
/// each), recording its first two arguments per side, so a test can check what inserted code saw
/// and in which order, in the interpreter and in compiled code.
/// </summary>
internal sealed class CallRecorder
{
    public readonly List<(ulong A, ulong B)> Interp = new();
    public readonly List<(ulong A, ulong B)> Jit = new();

    public CallRecorder(TierTwin twin)
    {
        Number = twin.Interp.CleanCalls.Register((a, b, _, _) => Interp.Add((a, b)));
        ulong jit = twin.Jit.CleanCalls.Register((a, b, _, _) => Jit.Add((a, b)));
        Assert.Equal(Number, jit);
    }

    /// <summary>The callback's number for <c>IrBuilder.CleanCall</c>.</summary>
    public ulong Number { get; }

    /// <summary>Asserts both tiers recorded the same calls; returns them.</summary>
    public List<(ulong A, ulong B)> Same(string where)
    {
        Assert.True(Interp.SequenceEqual(Jit),
            $"{where}: interpreter saw [{string.Join(", ", Interp)}], compiled code [{string.Join(", ", Jit)}]");
        return Interp;
    }

    public void Clear()
    {
        Interp.Clear();
        Jit.Clear();
    }
}
