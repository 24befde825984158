namespace Drk.Dispatcher.Flags;

/// <summary>
/// Computes arithmetic flags and conditions from a lazy flag thunk. Used by the interpreter for
/// <c>CondFromFlags</c>/<c>FlagsFromThunk</c>, by the hypervisor to build RFLAGS for exception
/// frames, and by the optimiser to fold thunks whose cc_op is a known constant.
/// </summary>
public static class FlagsCalculator
{
    /// <summary>The six arithmetic flags (RFLAGS positions) described by the thunk.</summary>
    public static ulong Compute(ulong ccOp, ulong dep1, ulong dep2, ulong ndep)
    {
        throw new NotImplementedException("FlagsCalculator.Compute: to be written with the ALU lowering");
    }

    /// <summary>Evaluates x86 condition <paramref name="cond"/> on the thunk.</summary>
    public static bool Evaluate(Condition cond, ulong ccOp, ulong dep1, ulong dep2, ulong ndep)
    {
        throw new NotImplementedException("FlagsCalculator.Evaluate: to be written with the ALU lowering");
    }
}
