namespace Drk.Hv.Cpu;

/// <summary>What a system instruction did, as reported by <see cref="ISystemInstructions.Execute"/>.</summary>
public enum SystemOutcome : byte
{
    /// <summary>Done; execution continues at the next instruction.</summary>
    Continue,
    /// <summary>Done; the helper set RIP itself (IRETQ, SYSCALL, SYSRET).</summary>
    Jump,
    /// <summary>The instruction faulted; nothing it would have written was written.</summary>
    Fault,
    /// <summary>HLT: the vCPU waits for an interrupt; the caller advances RIP past the HLT.</summary>
    Halt,
    /// <summary>The machine stops (e.g. the guest wrote to the isa-debug-exit port).</summary>
    Stop,
}
