namespace Drk.Hv.Cpu;

/// <summary>
/// A synchronous guest exception raised while executing an instruction: the vector, its
/// error code, CR2 for page faults, and the RIP of the faulting instruction.
/// </summary>
/// <remarks>
/// Faults are values, not host exceptions: memory accesses and the interpreter report them
/// through return values so a guest fault never unwinds the host stack.
/// </remarks>
public struct GuestFault
{
    public ExceptionVector Vector;
    public bool HasErrorCode;
    public uint ErrorCode;
    /// <summary>Faulting linear address (page faults only).</summary>
    public ulong Cr2;
    /// <summary>RIP of the instruction that faulted (filled in by the executor).</summary>
    public ulong Rip;
    /// <summary>For #UD: the instruction bytes as fetched (may be fewer than 15). Diagnostic only.</summary>
    public byte[]? Bytes;

    /// <summary>A #PF with the architected error code (P=1, W/R=2, U/S=4, RSVD=8, I/D=16).</summary>
    public static GuestFault PageFault(ulong address, uint errorCode) =>
        new() { Vector = ExceptionVector.PageFault, HasErrorCode = true, ErrorCode = errorCode, Cr2 = address };

    /// <summary>#GP(0), e.g. for a non-canonical address.</summary>
    public static GuestFault GeneralProtection(uint errorCode = 0) =>
        new() { Vector = ExceptionVector.GeneralProtection, HasErrorCode = true, ErrorCode = errorCode };

    /// <summary>An exception that pushes an error code (#DF, #TS, #NP, #SS, #GP, #PF, #AC).</summary>
    public static GuestFault WithErrorCode(ExceptionVector vector, uint errorCode) =>
        new() { Vector = vector, HasErrorCode = true, ErrorCode = errorCode };

    /// <summary>An exception without an error code.</summary>
    public static GuestFault WithoutErrorCode(ExceptionVector vector) => new() { Vector = vector };

    /// <summary>#UD.</summary>
    public static GuestFault InvalidOpcode() => new() { Vector = ExceptionVector.InvalidOpcode };

    /// <summary>#DE.</summary>
    public static GuestFault DivideError() => new() { Vector = ExceptionVector.DivideError };

    /// <inheritdoc />
    public override readonly string ToString()
    {
        var s = $"{Vector} at rip={Rip:x16}";
        if (HasErrorCode) s += $" err={ErrorCode:x}";
        if (Vector == ExceptionVector.PageFault) s += $" cr2={Cr2:x16}";
        if (Bytes is { Length: > 0 }) s += " bytes=" + Convert.ToHexString(Bytes).ToLowerInvariant();
        return s;
    }
}
