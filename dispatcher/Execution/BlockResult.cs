using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Execution;

/// <summary>What executing one block did: why it ended, how many guest instructions retired, and the exception if any.</summary>
public readonly struct BlockResult
{
    public BlockResult(BlockEnd end, int retired)
    {
        End = end;
        Retired = retired;
    }

    public BlockResult(BlockEnd end, int retired, in GuestFault fault)
    {
        End = end;
        Retired = retired;
        Fault = fault;
    }

    /// <summary>Why the block ended.</summary>
    public BlockEnd End { get; }

    /// <summary>
    /// Guest instructions that completed: an exit or trap in instruction k (its index in the
    /// block) retires k + 1; a fault in instruction k retires k.
    /// </summary>
    public int Retired { get; }

    /// <summary>
    /// For <see cref="BlockEnd.Fault"/>: the exception, RIP = the faulting instruction's RIP (#UD
    /// carries the instruction's bytes). For <see cref="BlockEnd.SoftInt"/>: the vector, RIP = the
    /// return address.
    /// </summary>
    public GuestFault Fault { get; }

    /// <inheritdoc />
    public override string ToString() =>
        End is BlockEnd.Fault or BlockEnd.SoftInt ? $"{End} ({Fault}), retired {Retired}" : $"{End}, retired {Retired}";
}
