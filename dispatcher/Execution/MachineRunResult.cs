using Drk.Hv;

namespace Drk.Dispatcher.Execution;

/// <summary>How a <see cref="MachineRunner.Run"/> ended, with the counters <c>drk run --stats</c> prints.</summary>
public sealed class MachineRunResult
{
    /// <summary>Why the machine stopped.</summary>
    public required MachineStopReason Reason { get; init; }

    /// <summary>For <see cref="MachineStopReason.DebugExit"/>: the value the guest wrote to port 0xf4; otherwise 0.</summary>
    public required int ExitStatus { get; init; }

    /// <summary>One line saying what happened (the stop request's first line).</summary>
    public required string Summary { get; init; }

    /// <summary>
    /// For every stop the guest did not ask for (triple fault, deadlock, budget, host error): the
    /// stop's account, then each vCPU's registers and last blocks. Empty for a debug exit.
    /// </summary>
    public required string Dump { get; init; }

    /// <summary>Instructions retired by all vCPUs during this run.</summary>
    public required ulong InstructionsRetired { get; init; }

    /// <summary>Of those, instructions retired at CPL 0 (kernel and modules): what a kernel tool counting every instruction must find.</summary>
    public ulong KernelInstructionsRetired { get; init; }

    /// <summary>Blocks decoded and lowered by all vCPUs during this run.</summary>
    public required long BlocksBuilt { get; init; }

    /// <summary>Blocks executed by all vCPUs during this run.</summary>
    public required long BlocksRun { get; init; }

    /// <summary>Fragments dropped because guest code was written.</summary>
    public required long FragmentsInvalidated { get; init; }

    /// <summary>Host wall time of the run.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>For <see cref="MachineStopReason.InternalError"/>: the host exception.</summary>
    public Exception? Error { get; init; }

    /// <summary>Guest instructions per microsecond of wall time (millions per second).</summary>
    public double Mips => Elapsed.TotalSeconds > 0 ? InstructionsRetired / Elapsed.TotalSeconds / 1e6 : 0;

    /// <summary>A short lower-case name of <see cref="Reason"/> for statistics lines (<c>debug-exit</c>, <c>triple-fault</c>, ...).</summary>
    public string ReasonName => NameOf(Reason);

    /// <summary>The statistics name of a stop reason.</summary>
    public static string NameOf(MachineStopReason reason) => reason switch
    {
        MachineStopReason.DebugExit => "debug-exit",
        MachineStopReason.TripleFault => "triple-fault",
        MachineStopReason.Deadlock => "deadlock",
        MachineStopReason.Budget => "max-instructions",
        MachineStopReason.Host => "host-stop",
        MachineStopReason.FaultLoop => "fault-loop",
        MachineStopReason.InternalError => "internal-error",
        _ => "running",
    };
}
