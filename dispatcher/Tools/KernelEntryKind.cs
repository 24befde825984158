namespace Drk.Dispatcher.Tools;

/// <summary>How control entered (or re-entered) the kernel.</summary>
public enum KernelEntryKind
{
    /// <summary>A SYSCALL from user mode.</summary>
    Syscall,

    /// <summary>An exception (fault or trap) delivered through the IDT.</summary>
    Exception,

    /// <summary>A device or inter-processor interrupt, or an NMI.</summary>
    Interrupt,

    /// <summary>A software interrupt (INT n).</summary>
    SoftwareInterrupt,
}
