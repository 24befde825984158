namespace Drk.Cli.Running;

/// <summary>
/// The exit statuses of <c>drk run</c> (docs/running.md). Statuses 0-63 are the guest's own: the
/// value it wrote to isa-debug-exit (port 0xf4), unchanged; QEMU would report 2v+1 instead. 64 and
/// up mean the host ended the run: a problem with the invocation (64-73, as in sysexits.h) or a
/// machine stop the guest did not ask for (80-85).
/// </summary>
internal static class RunExitStatus
{
    /// <summary>Largest guest status that cannot be confused with a host status.</summary>
    public const int LargestUnambiguousGuestStatus = 63;

    /// <summary>A bad argument or option (sysexits EX_USAGE).</summary>
    public const int Usage = 64;

    /// <summary>The kernel is not a bootable ELF64 image, or the image, initrd or command line do not fit the machine (EX_DATAERR).</summary>
    public const int BadImage = 65;

    /// <summary>The kernel, initrd or serial input cannot be read (EX_NOINPUT).</summary>
    public const int NoInput = 66;

    /// <summary>The host has not the memory the guest's RAM needs (EX_OSERR).</summary>
    public const int HostOutOfMemory = 71;

    /// <summary>The serial output file cannot be created (EX_CANTCREAT).</summary>
    public const int CannotCreateOutput = 73;

    /// <summary>A vCPU triple-faulted; a dump went to standard error.</summary>
    public const int TripleFault = 80;

    /// <summary><c>--max-instructions</c> ran out; a dump went to standard error.</summary>
    public const int MaxInstructions = 81;

    /// <summary>Every vCPU halted with nothing that could wake it; a dump went to standard error.</summary>
    public const int Deadlock = 82;

    /// <summary>A host exception inside the run loop (a bug in Drk); a dump went to standard error.</summary>
    public const int InternalError = 83;

    /// <summary>The host stopped the run (Ctrl-C); a dump went to standard error.</summary>
    public const int HostStop = 84;

    /// <summary>A vCPU took exceptions in a row without ever retiring an instruction; a dump went to standard error.</summary>
    public const int FaultLoop = 85;
}
