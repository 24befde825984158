namespace Drk.Hv;

/// <summary>Why a machine stopped.</summary>
public enum MachineStopReason : byte
{
    /// <summary>Still running.</summary>
    None,
    /// <summary>The guest wrote its exit status to the isa-debug-exit port.</summary>
    DebugExit,
    /// <summary>A vCPU triple-faulted (an exception while delivering a double fault).</summary>
    TripleFault,
    /// <summary>Every vCPU is halted with interrupts it can never receive (no timer armed, no IPI possible).</summary>
    Deadlock,
    /// <summary>The run loop's instruction or time budget ran out.</summary>
    Budget,
    /// <summary>The host asked the machine to stop.</summary>
    Host,
    /// <summary>
    /// A vCPU took exceptions over and over without retiring an instruction (for instance a
    /// handler whose first instruction faults, on an IST stack that never runs out): the guest can
    /// make no progress and its clock does not advance.
    /// </summary>
    FaultLoop,
    /// <summary>The run loop caught a host exception (a bug in Drk, not in the guest) and stopped the machine with a dump.</summary>
    InternalError,
}
