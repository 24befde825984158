namespace Drk.Dispatcher.IR;

/// <summary>What kind of control transfer an indirect exit is, for the indirect-branch table and tools.</summary>
public enum IndirectKind : byte
{
    Jump = 0,
    Call = 1,
    Return = 2,
    /// <summary>RIP was set by a system instruction (IRETQ, SYSCALL, SYSRET, ...).</summary>
    System = 3,
}
