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
    /// <summary>The run loop caught a host exception (a bug in Drk, not in the guest) and stopped the machine with a dump.</summary>
    InternalError,
}
