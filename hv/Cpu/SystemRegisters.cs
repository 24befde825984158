namespace Drk.Hv.Cpu;

/// <summary>
/// The system state of one vCPU that blocks do not touch directly: control registers, EFER and
/// the other MSRs the machine implements, descriptor-table registers, segment selectors and the
/// run state (interrupt shadow, halted).
/// </summary>
/// <remarks>
/// Guest code changes these only through <see cref="ISystemInstructions"/> and interrupt
/// delivery, which also keep the MMU's soft TLB coherent. Code that assigns the fields directly
/// (boot, tests, a debugger) must call <c>Mmu.FlushAll</c> after changing CR0, CR3, CR4 or EFER.
/// FS and GS bases live in <see cref="VcpuState.Slots"/> (<see cref="GuestReg.FsBase"/>,
/// <see cref="GuestReg.GsBase"/>) because blocks read them on every segment-prefixed access;
/// the bases of CS, SS, DS and ES are zero in 64-bit mode and not stored.
/// </remarks>
public sealed class SystemRegisters
{
    public ulong Cr0;
    /// <summary>The linear address of the last page fault delivered.</summary>
    public ulong Cr2;
    public ulong Cr3;
    public ulong Cr4;
    /// <summary>Task-priority register as CR8 shows it (TPR[7:4]); mirrors the local APIC's TPR when one is attached.</summary>
    public ulong Cr8;

    public ulong Efer;
    public ulong Star;
    public ulong Lstar;
    public ulong Cstar;
    /// <summary>IA32_FMASK (SFMASK): RFLAGS bits SYSCALL clears.</summary>
    public ulong Fmask;
    /// <summary>The value SWAPGS exchanges with the GS base.</summary>
    public ulong KernelGsBase;
    public ulong ApicBase;
    public ulong TscAux;
    /// <summary>Added to the virtual clock to form the TSC; WRMSR to IA32_TSC sets it.</summary>
    public ulong TscOffset;

    public DescriptorTableRegister Gdtr;
    public DescriptorTableRegister Idtr;
    public TaskRegister Tr;
    /// <summary>LDTR selector. LDTs are not implemented: it stays null and TI=1 selectors fault.</summary>
    public ushort Ldtr;

    public ushort Es, Cs, Ss, Ds, Fs, Gs;

    /// <summary>
    /// Interrupts are blocked for one instruction after STI (when IF was clear) and MOV SS.
    /// Set by those instructions; the run loop clears it once the next instruction has retired
    /// (HLT clears it itself) and does not deliver maskable interrupts while it is set.
    /// </summary>
    public bool InterruptShadow;
    /// <summary>The vCPU executed HLT and waits for an interrupt. Cleared by delivery.</summary>
    public bool Halted;
    /// <summary>An NMI handler runs: further NMIs wait until the next IRETQ.</summary>
    public bool NmiBlocked;

    /// <summary>True when EFER.LMA is set: long mode is active, addresses are canonical-checked.</summary>
    public bool LongMode => (Efer & ControlBits.EferLMA) != 0;

    /// <summary>True when CR0.PG is set.</summary>
    public bool Paging => (Cr0 & ControlBits.Cr0PG) != 0;

    /// <summary>The selector of segment register <paramref name="seg"/>.</summary>
    public ushort GetSelector(SegmentRegister seg) => seg switch
    {
        SegmentRegister.Es => Es,
        SegmentRegister.Cs => Cs,
        SegmentRegister.Ss => Ss,
        SegmentRegister.Ds => Ds,
        SegmentRegister.Fs => Fs,
        _ => Gs,
    };

    /// <summary>Sets the selector of segment register <paramref name="seg"/> (no checks, no base load).</summary>
    public void SetSelector(SegmentRegister seg, ushort selector)
    {
        switch (seg)
        {
            case SegmentRegister.Es: Es = selector; break;
            case SegmentRegister.Cs: Cs = selector; break;
            case SegmentRegister.Ss: Ss = selector; break;
            case SegmentRegister.Ds: Ds = selector; break;
            case SegmentRegister.Fs: Fs = selector; break;
            default: Gs = selector; break;
        }
    }

    /// <summary>Copies every field from <paramref name="other"/>.</summary>
    public void CopyFrom(SystemRegisters other)
    {
        Cr0 = other.Cr0; Cr2 = other.Cr2; Cr3 = other.Cr3; Cr4 = other.Cr4; Cr8 = other.Cr8;
        Efer = other.Efer; Star = other.Star; Lstar = other.Lstar; Cstar = other.Cstar; Fmask = other.Fmask;
        KernelGsBase = other.KernelGsBase; ApicBase = other.ApicBase; TscAux = other.TscAux; TscOffset = other.TscOffset;
        Gdtr = other.Gdtr; Idtr = other.Idtr; Tr = other.Tr; Ldtr = other.Ldtr;
        Es = other.Es; Cs = other.Cs; Ss = other.Ss; Ds = other.Ds; Fs = other.Fs; Gs = other.Gs;
        InterruptShadow = other.InterruptShadow; Halted = other.Halted; NmiBlocked = other.NmiBlocked;
    }
}
