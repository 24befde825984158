namespace Drk.Hv.Cpu;

/// <summary>
/// System and machine-defined instructions that the execution core lowers to a call of
/// <see cref="ISystemInstructions.Execute"/>. Each member says what the operands
/// <c>a</c>, <c>b</c> and the <c>result</c> mean; "-" means unused.
/// </summary>
/// <remarks>
/// The helper runs with the guest state precise (every earlier write of the block done,
/// RIP = the instruction's own RIP). Register results that are not returned through
/// <c>result</c> (RDMSR's EDX:EAX, CPUID's four registers, RDTSC) are written by the helper
/// into <see cref="VcpuState.Slots"/> directly.
/// </remarks>
public enum SystemOp : byte
{
    /// <summary>CPUID: reads EAX/ECX, writes EAX/EBX/ECX/EDX.</summary>
    Cpuid,
    /// <summary>RDTSC: writes EDX:EAX from the virtual clock.</summary>
    Rdtsc,
    /// <summary>RDTSCP: writes EDX:EAX and ECX (TSC_AUX).</summary>
    Rdtscp,
    /// <summary>CLI.</summary>
    Cli,
    /// <summary>STI (interrupt shadow of one instruction).</summary>
    Sti,
    /// <summary>HLT: returns <see cref="SystemOutcome.Halt"/> when the vCPU should wait.</summary>
    Hlt,
    /// <summary>MOV reg, CRn: a = n; result = value.</summary>
    ReadCr,
    /// <summary>MOV CRn, reg: a = n, b = value.</summary>
    WriteCr,
    /// <summary>LGDT m: a = linear address of the 10-byte operand.</summary>
    Lgdt,
    /// <summary>LIDT m: a = linear address of the 10-byte operand.</summary>
    Lidt,
    /// <summary>SGDT m: a = linear address to store the 10-byte operand.</summary>
    Sgdt,
    /// <summary>SIDT m: a = linear address to store the 10-byte operand.</summary>
    Sidt,
    /// <summary>LTR r/m16: a = selector.</summary>
    Ltr,
    /// <summary>STR: result = TR selector.</summary>
    Str,
    /// <summary>RDMSR: reads ECX, writes EDX:EAX.</summary>
    Rdmsr,
    /// <summary>WRMSR: reads ECX, EDX:EAX.</summary>
    Wrmsr,
    /// <summary>IN: a = port, b = size in bytes (1, 2, 4); result = value read.</summary>
    In,
    /// <summary>OUT: a = port, b = size in bytes; value in the low bytes of RAX.</summary>
    Out,
    /// <summary>INVLPG m: a = linear address.</summary>
    Invlpg,
    /// <summary>IRETQ: pops the frame; sets RIP and returns <see cref="SystemOutcome.Jump"/>.</summary>
    Iretq,
    /// <summary>SYSCALL: a = RIP of the next instruction; returns <see cref="SystemOutcome.Jump"/>.</summary>
    Syscall,
    /// <summary>SYSRETQ: returns <see cref="SystemOutcome.Jump"/>.</summary>
    Sysretq,
    /// <summary>SWAPGS.</summary>
    Swapgs,
    /// <summary>WBINVD (no effect on a coherent emulated cache; privilege-checked).</summary>
    Wbinvd,
    /// <summary>CLFLUSH m: a = linear address (checked for a fault, otherwise no effect).</summary>
    Clflush,
    /// <summary>RDFSBASE / RDGSBASE: a = 0 for FS, 1 for GS; result = base.</summary>
    ReadSegBase,
    /// <summary>WRFSBASE / WRGSBASE: a = 0 for FS, 1 for GS; b = new base.</summary>
    WriteSegBase,
    /// <summary>MOV Sreg, r/m16: a = segment register (Iced order ES=0,CS=1,SS=2,DS=3,FS=4,GS=5), b = selector.</summary>
    WriteSegment,
    /// <summary>MOV r/m16, Sreg: a = segment register; result = selector.</summary>
    ReadSegment,
    /// <summary>
    /// RET far (RETFW/RETFD/RETFQ, with or without imm16): a = operand size in bytes (2, 4, 8), b =
    /// bytes to release from the stack (the imm16, 0 without). Pops RIP and CS (and RSP, SS on a
    /// return to an outer ring); sets RIP and returns <see cref="SystemOutcome.Jump"/>.
    /// </summary>
    FarReturn,
}
