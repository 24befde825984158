namespace Drk.Hv;

/// <summary>
/// The machine's stop request: devices and delivery set it, the run loop polls
/// <see cref="IsRequested"/> (a field read) after each block and stops. The first request wins.
/// </summary>
public sealed class MachineStop
{
    /// <summary>True once anything asked the machine to stop.</summary>
    public bool IsRequested { get; private set; }

    public MachineStopReason Reason { get; private set; }

    /// <summary>The guest's exit status (the value written to isa-debug-exit), or 0.</summary>
    public int ExitStatus { get; private set; }

    /// <summary>A human-readable account (for a triple fault, the vCPU state dump).</summary>
    public string Detail { get; private set; } = "";

    /// <summary>Asks the machine to stop unless an earlier request is pending.</summary>
    public void Request(MachineStopReason reason, int exitStatus = 0, string detail = "")
    {
        if (IsRequested) return;
        IsRequested = true;
        Reason = reason;
        ExitStatus = exitStatus;
        Detail = detail;
    }
}
