namespace Drk.Hv.Cpu;

/// <summary>An event to deliver through the IDT: its kind, vector and (exceptions) error code and CR2.</summary>
public struct InterruptEvent
{
    public InterruptKind Kind;
    public byte Vector;
    public bool HasErrorCode;
    public uint ErrorCode;
    /// <summary>For a page fault: the faulting linear address, written to CR2 when the fault is delivered.</summary>
    public ulong Cr2;

    /// <summary>The event that delivers <paramref name="fault"/>.</summary>
    public static InterruptEvent FromFault(in GuestFault fault) => new()
    {
        Kind = InterruptKind.Exception,
        Vector = (byte)fault.Vector,
        HasErrorCode = fault.HasErrorCode,
        ErrorCode = fault.ErrorCode,
        Cr2 = fault.Cr2,
    };

    /// <summary>True for a page fault raised by the processor (not INT 14).</summary>
    public readonly bool IsPageFault => Kind == InterruptKind.Exception && Vector == (byte)ExceptionVector.PageFault;

    /// <inheritdoc />
    public override readonly string ToString() =>
        $"{Kind} {Vector}" + (HasErrorCode ? $" err={ErrorCode:x}" : "") + (IsPageFault ? $" cr2={Cr2:x}" : "");
}
