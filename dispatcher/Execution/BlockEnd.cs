namespace Drk.Dispatcher.Execution;

/// <summary>Why the execution of one block stopped.</summary>
public enum BlockEnd : byte
{
    /// <summary>A direct exit (Exit, or a taken ExitIf); RIP in the state is the target.</summary>
    Exit,
    /// <summary>An indirect exit (ExitIndirect); RIP in the state is the target.</summary>
    ExitIndirect,
    /// <summary>A system instruction set RIP itself (IRETQ, SYSCALL, SYSRET, ...).</summary>
    SystemJump,
    /// <summary>An exception: a Raise op, a faulting memory access, #DE, a faulting system instruction. State is as before the faulting instruction, RIP = its RIP.</summary>
    Fault,
    /// <summary>INT n / INT3: state after the instruction, RIP = the return address; the vector is in the fault.</summary>
    SoftInt,
    /// <summary>HLT: RIP is past the HLT.</summary>
    Halt,
    /// <summary>A system instruction stopped the machine; RIP is past it.</summary>
    Stop,
}
