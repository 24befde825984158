using Drk.Hv.Devices;
using Drk.Hv.Memory;

namespace Drk.Hv.Cpu;

/// <summary>
/// The hypervisor's implementation of <see cref="ISystemInstructions"/> for one vCPU: privilege
/// checks, control registers, MSRs, descriptor tables, segment loads, ports, CPUID, the TSC,
/// IRETQ, SYSCALL/SYSRETQ and SWAPGS.
/// </summary>
/// <remarks>
/// <para>
/// Privileged instructions (MOV CR, LGDT, LIDT, LTR, RDMSR, WRMSR, INVLPG, WBINVD, HLT, SWAPGS,
/// SYSRETQ) raise #GP(0) at CPL &gt; 0; CLI, STI, IN and OUT at CPL &gt; IOPL (the TSS I/O
/// bitmap is not consulted); RDTSC(P) at CPL &gt; 0 when CR4.TSD is set. Faults leave the state
/// untouched and carry <c>Rip</c> = the instruction's RIP.
/// </para>
/// <para>
/// Writes that change translation (CR0.PG/WP/PE, CR3, CR4 paging bits, EFER.NXE, APIC_BASE) flush
/// <see cref="Mmu"/>; INVLPG flushes one page. Every optional collaborator may be null in tests:
/// without <see cref="Ports"/> ports are unbacked, without <see cref="Apic"/> CR8 is a plain
/// register and APIC_BASE is stored only.
/// </para>
/// </remarks>
public sealed class SystemInstructions : ISystemInstructions
{
    private readonly IFlagsAccess _flags;

    public SystemInstructions(IFlagsAccess flags)
    {
        _flags = flags;
        Delivery = new InterruptDelivery(flags);
    }

    /// <summary>The CPUID table (the default one unless replaced).</summary>
    public CpuidTable Cpuid { get; init; } = CpuidTable.CreateDefault();

    /// <summary>The I/O port space for IN/OUT; null reads all-ones.</summary>
    public IoPortBus? Ports { get; init; }

    /// <summary>Polled after OUT: a device (isa-debug-exit) may ask the machine to stop.</summary>
    public MachineStop? Stop { get; init; }

    /// <summary>The vCPU's MMU, flushed when translation state changes.</summary>
    public Mmu? Mmu { get; init; }

    /// <summary>The vCPU's local APIC (CR8 = TPR[7:4], APIC_BASE relocation).</summary>
    public LocalApic? Apic { get; init; }

    /// <summary>Where unknown MSRs are reported.</summary>
    public UnhandledAccessLog? Log { get; init; }

    /// <summary>IDT delivery and IRETQ, sharing this instance's flag access.</summary>
    public InterruptDelivery Delivery { get; }

    /// <inheritdoc />
    public SystemOutcome Execute(SystemOp op, VcpuState state, IGuestMemory memory, ulong a, ulong b,
        out ulong result, out GuestFault fault)
    {
        result = 0;
        fault = default;
        var outcome = ExecuteCore(op, state, memory, a, b, ref result, ref fault);
        if (outcome == SystemOutcome.Fault) fault.Rip = state.Rip;
        return outcome;
    }

    /// <inheritdoc />
    /// <remarks>
    /// CLI, STI and SWAPGS: at CPL 0 none can fault (IOPL never bars ring 0) and each only moves
    /// bits between the flags, the GS base slot and <see cref="SystemRegisters"/>, as
    /// <see cref="ExecuteCore"/> shows. A change to what those cases do must change this answer.
    /// </remarks>
    public bool IsArchitecturalAtCpl0(SystemOp op) => op is SystemOp.Cli or SystemOp.Sti or SystemOp.Swapgs;

    private SystemOutcome ExecuteCore(SystemOp op, VcpuState state, IGuestMemory memory, ulong a, ulong b,
        ref ulong result, ref GuestFault fault)
    {
        var sys = state.Sys;
        ulong[] r = state.Slots;
        switch (op)
        {
            case SystemOp.Cpuid:
            {
                var c = Cpuid.Lookup((uint)r[GuestReg.Rax], (uint)r[GuestReg.Rcx], Apic?.Id ?? 0);
                r[GuestReg.Rax] = c.Eax;
                r[GuestReg.Rbx] = c.Ebx;
                r[GuestReg.Rcx] = c.Ecx;
                r[GuestReg.Rdx] = c.Edx;
                return SystemOutcome.Continue;
            }
            case SystemOp.Rdtsc:
            case SystemOp.Rdtscp:
            {
                if ((sys.Cr4 & ControlBits.Cr4TSD) != 0 && state.Cpl > 0) return Gp(ref fault);
                ulong tsc = ReadTsc(state);
                r[GuestReg.Rax] = (uint)tsc;
                r[GuestReg.Rdx] = tsc >> 32;
                if (op == SystemOp.Rdtscp) r[GuestReg.Rcx] = (uint)sys.TscAux;
                return SystemOutcome.Continue;
            }
            case SystemOp.Cli:
                if (state.Cpl > Iopl(state)) return Gp(ref fault);
                r[GuestReg.FlagsOther] &= ~Rflags.IF;
                return SystemOutcome.Continue;
            case SystemOp.Sti:
                if (state.Cpl > Iopl(state)) return Gp(ref fault);
                if ((r[GuestReg.FlagsOther] & Rflags.IF) == 0) sys.InterruptShadow = true;
                r[GuestReg.FlagsOther] |= Rflags.IF;
                return SystemOutcome.Continue;
            case SystemOp.Hlt:
                if (state.Cpl != 0) return Gp(ref fault);
                sys.Halted = true;
                sys.InterruptShadow = false;
                return SystemOutcome.Halt;
            case SystemOp.ReadCr:
                if (a is not (0 or 2 or 3 or 4 or 8)) return Ud(ref fault);
                if (state.Cpl != 0) return Gp(ref fault);
                switch (a)
                {
                    case 0: result = sys.Cr0; break;
                    case 2: result = sys.Cr2; break;
                    case 3: result = sys.Cr3; break;
                    case 4: result = sys.Cr4; break;
                    default: result = Apic != null ? (ulong)(Apic.Tpr >> 4) : sys.Cr8; break;
                }
                return SystemOutcome.Continue;
            case SystemOp.WriteCr:
                if (a is not (0 or 2 or 3 or 4 or 8)) return Ud(ref fault);
                if (state.Cpl != 0) return Gp(ref fault);
                return WriteCr(state, (int)a, b, ref fault);
            case SystemOp.Lgdt:
            case SystemOp.Lidt:
            {
                if (state.Cpl != 0) return Gp(ref fault);
                if (!memory.Read(a, 2, out ulong limit, out fault)) return SystemOutcome.Fault;
                if (!memory.Read(a + 2, 8, out ulong @base, out fault)) return SystemOutcome.Fault;
                if (!Mmu.IsCanonical(@base)) return Gp(ref fault);
                var reg = new DescriptorTableRegister(@base, (ushort)limit);
                if (op == SystemOp.Lgdt) sys.Gdtr = reg; else sys.Idtr = reg;
                return SystemOutcome.Continue;
            }
            case SystemOp.Sgdt:
            case SystemOp.Sidt:
            {
                var reg = op == SystemOp.Sgdt ? sys.Gdtr : sys.Idtr;
                if (!ProbeWrite(memory, a, 10, ref fault)) return SystemOutcome.Fault;
                if (!memory.Write(a, 2, reg.Limit, out fault)) return SystemOutcome.Fault;
                if (!memory.Write(a + 2, 8, reg.Base, out fault)) return SystemOutcome.Fault;
                return SystemOutcome.Continue;
            }
            case SystemOp.Ltr:
                if (state.Cpl != 0) return Gp(ref fault);
                return LoadTaskRegister(state, memory, (ushort)a, ref fault);
            case SystemOp.Str:
                result = sys.Tr.Selector;
                return SystemOutcome.Continue;
            case SystemOp.Rdmsr:
            {
                if (state.Cpl != 0) return Gp(ref fault);
                uint msr = (uint)r[GuestReg.Rcx];
                if (!ReadMsr(state, msr, out ulong value))
                {
                    Log?.Note("rdmsr", msr);
                    return Gp(ref fault);
                }
                r[GuestReg.Rax] = (uint)value;
                r[GuestReg.Rdx] = value >> 32;
                return SystemOutcome.Continue;
            }
            case SystemOp.Wrmsr:
            {
                if (state.Cpl != 0) return Gp(ref fault);
                uint msr = (uint)r[GuestReg.Rcx];
                ulong value = ((r[GuestReg.Rdx] & 0xFFFF_FFFF) << 32) | (r[GuestReg.Rax] & 0xFFFF_FFFF);
                return WriteMsr(state, msr, value, ref fault);
            }
            case SystemOp.In:
                if (state.Cpl > Iopl(state)) return Gp(ref fault);
                result = Ports != null ? Ports.Read((ushort)a, (int)b) : PortMask((int)b);
                return SystemOutcome.Continue;
            case SystemOp.Out:
                if (state.Cpl > Iopl(state)) return Gp(ref fault);
                Ports?.Write((ushort)a, (int)b, (uint)r[GuestReg.Rax]);
                return Stop is { IsRequested: true } ? SystemOutcome.Stop : SystemOutcome.Continue;
            case SystemOp.Invlpg:
                if (state.Cpl != 0) return Gp(ref fault);
                Mmu?.FlushPage(a);
                return SystemOutcome.Continue;
            case SystemOp.Iretq:
                return Delivery.Iret(state, memory, out fault);
            case SystemOp.FarReturn:
                return Delivery.FarReturn(state, memory, (int)a, b, out fault);
            case SystemOp.Syscall:
                return Syscall(state, a, ref fault);
            case SystemOp.Sysretq:
                return Sysret(state, ref fault);
            case SystemOp.Swapgs:
                if (state.Cpl != 0) return Gp(ref fault);
                (r[GuestReg.GsBase], sys.KernelGsBase) = (sys.KernelGsBase, r[GuestReg.GsBase]);
                return SystemOutcome.Continue;
            case SystemOp.Wbinvd:
                if (state.Cpl != 0) return Gp(ref fault);
                return SystemOutcome.Continue;
            case SystemOp.Clflush:
                if (Mmu != null)
                    return Mmu.Translate(a, AccessKind.Read, out _, out fault) ? SystemOutcome.Continue : SystemOutcome.Fault;
                return memory.Read(a, 1, out _, out fault) ? SystemOutcome.Continue : SystemOutcome.Fault;
            case SystemOp.ReadSegBase:
                if ((sys.Cr4 & ControlBits.Cr4FSGSBASE) == 0) return Ud(ref fault);
                result = r[a == 0 ? GuestReg.FsBase : GuestReg.GsBase];
                return SystemOutcome.Continue;
            case SystemOp.WriteSegBase:
                if ((sys.Cr4 & ControlBits.Cr4FSGSBASE) == 0) return Ud(ref fault);
                if (!Mmu.IsCanonical(b)) return Gp(ref fault);
                r[a == 0 ? GuestReg.FsBase : GuestReg.GsBase] = b;
                return SystemOutcome.Continue;
            case SystemOp.WriteSegment:
                if (a > 5) return Ud(ref fault);
                return LoadSegment(state, memory, (SegmentRegister)a, (ushort)b, ref fault);
            case SystemOp.ReadSegment:
                if (a > 5) return Ud(ref fault);
                result = sys.GetSelector((SegmentRegister)a);
                return SystemOutcome.Continue;
            default:
                return Ud(ref fault);
        }
    }

    /// <summary>The guest-visible TSC: the virtual clock plus the offset set by WRMSR(IA32_TSC).</summary>
    public static ulong ReadTsc(VcpuState state) => state.Ticks + state.Sys.TscOffset;

    private static int Iopl(VcpuState state) => Rflags.IoplOf(state.Slots[GuestReg.FlagsOther]);

    private static ulong PortMask(int size) => size >= 4 ? 0xFFFF_FFFFUL : (1UL << (8 * size)) - 1;

    private static SystemOutcome Gp(ref GuestFault fault, uint errorCode = 0)
    {
        fault = GuestFault.GeneralProtection(errorCode);
        return SystemOutcome.Fault;
    }

    private static SystemOutcome Ud(ref GuestFault fault)
    {
        fault = GuestFault.InvalidOpcode();
        return SystemOutcome.Fault;
    }

    private static SystemOutcome Raise(ref GuestFault fault, ExceptionVector vector, uint errorCode)
    {
        fault = GuestFault.WithErrorCode(vector, errorCode);
        return SystemOutcome.Fault;
    }

    /// <summary>Checks that <paramref name="length"/> bytes at <paramref name="address"/> are writable before a multi-part store.</summary>
    private bool ProbeWrite(IGuestMemory memory, ulong address, int length, ref GuestFault fault)
    {
        if (Mmu == null || !ReferenceEquals(memory, Mmu)) return true;
        return Mmu.Translate(address, AccessKind.Write, out _, out fault)
               && Mmu.Translate(address + (ulong)(length - 1), AccessKind.Write, out _, out fault);
    }

    // ---- control registers -------------------------------------------------------------------

    private SystemOutcome WriteCr(VcpuState state, int n, ulong value, ref GuestFault fault)
    {
        var sys = state.Sys;
        switch (n)
        {
            case 0:
            {
                if ((value & ~ControlBits.Cr0Writable) != 0) return Gp(ref fault);
                value |= ControlBits.Cr0ET;
                bool pg = (value & ControlBits.Cr0PG) != 0;
                if (pg && (value & ControlBits.Cr0PE) == 0) return Gp(ref fault);
                if ((value & ControlBits.Cr0NW) != 0 && (value & ControlBits.Cr0CD) == 0) return Gp(ref fault);
                // The execution core runs 64-bit code only, so long mode cannot be left.
                if (sys.LongMode && !pg) return Gp(ref fault);
                bool lme = (sys.Efer & ControlBits.EferLME) != 0;
                if (pg && !sys.Paging && lme && (sys.Cr4 & ControlBits.Cr4PAE) == 0) return Gp(ref fault);
                ulong changed = sys.Cr0 ^ value;
                sys.Cr0 = value;
                if (pg && lme) sys.Efer |= ControlBits.EferLMA;
                if ((changed & (ControlBits.Cr0PG | ControlBits.Cr0WP | ControlBits.Cr0PE)) != 0) Mmu?.FlushAll();
                return SystemOutcome.Continue;
            }
            case 2:
                sys.Cr2 = value;
                return SystemOutcome.Continue;
            case 3:
                if ((value & ~(ControlBits.PhysicalPageMask | 0x18)) != 0) return Gp(ref fault);
                sys.Cr3 = value;
                Mmu?.FlushNonGlobal();
                return SystemOutcome.Continue;
            case 4:
            {
                if ((value & ~ControlBits.Cr4Writable) != 0) return Gp(ref fault);
                if (sys.LongMode && (value & ControlBits.Cr4PAE) == 0) return Gp(ref fault);
                ulong changed = sys.Cr4 ^ value;
                sys.Cr4 = value;
                if ((changed & ControlBits.Cr4PagingBits) != 0) Mmu?.FlushAll();
                return SystemOutcome.Continue;
            }
            default:
                if (value > 0xF) return Gp(ref fault);
                sys.Cr8 = value;
                if (Apic != null) Apic.Tpr = (byte)(value << 4);
                return SystemOutcome.Continue;
        }
    }

    // ---- MSRs --------------------------------------------------------------------------------

    private bool ReadMsr(VcpuState state, uint msr, out ulong value)
    {
        var sys = state.Sys;
        value = msr switch
        {
            Msr.Tsc => ReadTsc(state),
            Msr.ApicBase => sys.ApicBase,
            Msr.Efer => sys.Efer,
            Msr.Star => sys.Star,
            Msr.Lstar => sys.Lstar,
            Msr.Cstar => sys.Cstar,
            Msr.Fmask => sys.Fmask,
            Msr.FsBase => state.Slots[GuestReg.FsBase],
            Msr.GsBase => state.Slots[GuestReg.GsBase],
            Msr.KernelGsBase => sys.KernelGsBase,
            Msr.TscAux => sys.TscAux,
            _ => ulong.MaxValue,
        };
        return msr is Msr.Tsc or Msr.ApicBase or Msr.Efer or Msr.Star or Msr.Lstar or Msr.Cstar or Msr.Fmask
            or Msr.FsBase or Msr.GsBase or Msr.KernelGsBase or Msr.TscAux;
    }

    private SystemOutcome WriteMsr(VcpuState state, uint msr, ulong value, ref GuestFault fault)
    {
        var sys = state.Sys;
        switch (msr)
        {
            case Msr.Tsc:
                sys.TscOffset = value - state.Ticks;
                return SystemOutcome.Continue;
            case Msr.ApicBase:
            {
                const ulong writable = Msr.ApicBaseBsp | Msr.ApicBaseEnable | ControlBits.PhysicalPageMask;
                if ((value & ~writable) != 0) return Gp(ref fault);
                ulong newValue = (value & ~Msr.ApicBaseBsp) | (sys.ApicBase & Msr.ApicBaseBsp);
                ulong newBase = newValue & ControlBits.PhysicalPageMask;
                bool moved = newBase != (sys.ApicBase & ControlBits.PhysicalPageMask);
                sys.ApicBase = newValue;
                if (moved && Apic != null) Mmu?.MapLocalMmio(newBase, LocalApic.MmioLength, Apic);
                return SystemOutcome.Continue;
            }
            case Msr.Efer:
            {
                if ((value & ~ControlBits.EferWritable) != 0) return Gp(ref fault);
                if (((value ^ sys.Efer) & ControlBits.EferLME) != 0 && sys.Paging) return Gp(ref fault);
                ulong newValue = (value & ~ControlBits.EferLMA) | (sys.Efer & ControlBits.EferLMA);
                bool nxeChanged = ((newValue ^ sys.Efer) & ControlBits.EferNXE) != 0;
                sys.Efer = newValue;
                if (nxeChanged) Mmu?.FlushAll();
                return SystemOutcome.Continue;
            }
            case Msr.Star:
                sys.Star = value;
                return SystemOutcome.Continue;
            case Msr.Lstar:
            case Msr.Cstar:
            case Msr.FsBase:
            case Msr.GsBase:
            case Msr.KernelGsBase:
                if (!Mmu.IsCanonical(value)) return Gp(ref fault);
                switch (msr)
                {
                    case Msr.Lstar: sys.Lstar = value; break;
                    case Msr.Cstar: sys.Cstar = value; break;
                    case Msr.FsBase: state.Slots[GuestReg.FsBase] = value; break;
                    case Msr.GsBase: state.Slots[GuestReg.GsBase] = value; break;
                    default: sys.KernelGsBase = value; break;
                }
                return SystemOutcome.Continue;
            case Msr.Fmask:
            case Msr.TscAux:
                if (value > 0xFFFF_FFFF) return Gp(ref fault);
                if (msr == Msr.Fmask) sys.Fmask = value; else sys.TscAux = value;
                return SystemOutcome.Continue;
            default:
                Log?.Note("wrmsr", msr);
                return Gp(ref fault);
        }
    }

    // ---- descriptor tables and segments ------------------------------------------------------

    private static SystemOutcome LoadTaskRegister(VcpuState state, IGuestMemory memory, ushort selector, ref GuestFault fault)
    {
        var sys = state.Sys;
        if ((selector & 0xFFFC) == 0) return Gp(ref fault);
        uint selError = (uint)selector & 0xFFFC;
        uint offset = (uint)selector & ~7u;
        if ((selector & 4) != 0 || offset + 15 > sys.Gdtr.Limit) return Gp(ref fault, selError);
        ulong at = sys.Gdtr.Base + offset;
        if (!SupervisorAccess.Read(memory, at, 8, out ulong low, out fault)) return SystemOutcome.Fault;
        if (!SupervisorAccess.Read(memory, at + 8, 8, out ulong high, out fault)) return SystemOutcome.Fault;
        int type = (int)((low >> 40) & 0xF);
        bool system = (low & (1UL << 44)) == 0;
        if (!system || type != 9) return Gp(ref fault, selError);
        if ((low & (1UL << 47)) == 0) return Raise(ref fault, ExceptionVector.SegmentNotPresent, selError);
        ulong @base = ((low >> 16) & 0xFF_FFFF) | ((low >> 32) & 0xFF00_0000) | ((high & 0xFFFF_FFFF) << 32);
        if (!Mmu.IsCanonical(@base)) return Gp(ref fault, selError);
        uint limit = (uint)((low & 0xFFFF) | ((low >> 32) & 0xF_0000));
        if ((low & (1UL << 55)) != 0) limit = (limit << 12) | 0xFFF;
        // Mark the descriptor busy, as LTR does.
        if (!SupervisorAccess.Write(memory, at, 8, low | (1UL << 41), out fault)) return SystemOutcome.Fault;
        sys.Tr = new TaskRegister { Selector = selector, Base = @base, Limit = limit };
        return SystemOutcome.Continue;
    }

    private static SystemOutcome LoadSegment(VcpuState state, IGuestMemory memory, SegmentRegister reg, ushort selector,
        ref GuestFault fault)
    {
        var sys = state.Sys;
        if (reg == SegmentRegister.Cs || (byte)reg > 5) return Ud(ref fault);
        uint selError = (uint)selector & 0xFFFC;
        int rpl = selector & 3;
        if (reg == SegmentRegister.Ss)
        {
            if ((selector & 0xFFFC) == 0)
            {
                if (state.Cpl == 3 || rpl != state.Cpl) return Gp(ref fault);
            }
            else
            {
                if (rpl != state.Cpl) return Gp(ref fault, selError);
                if (!SupervisorAccess.ReadGdt(state, memory, selector, 0, out var d, out fault)) return SystemOutcome.Fault;
                if (!d.IsWritableData || d.Dpl != state.Cpl) return Gp(ref fault, selError);
                if (!d.Present) return Raise(ref fault, ExceptionVector.StackFault, selError);
            }
            sys.Ss = selector;
            sys.InterruptShadow = true;
            return SystemOutcome.Continue;
        }

        uint newBase = 0;
        if ((selector & 0xFFFC) != 0)
        {
            if (!SupervisorAccess.ReadGdt(state, memory, selector, 0, out var d, out fault)) return SystemOutcome.Fault;
            if (!d.IsCodeOrData || !d.IsReadable) return Gp(ref fault, selError);
            if (!d.IsConforming && (rpl > d.Dpl || state.Cpl > d.Dpl)) return Gp(ref fault, selError);
            if (!d.Present) return Raise(ref fault, ExceptionVector.SegmentNotPresent, selError);
            newBase = d.Base;
        }
        sys.SetSelector(reg, selector);
        // Loading FS or GS replaces the 64-bit base with the descriptor's 32-bit base; a null
        // selector clears it, as Intel processors do.
        if (reg == SegmentRegister.Fs) state.Slots[GuestReg.FsBase] = newBase;
        else if (reg == SegmentRegister.Gs) state.Slots[GuestReg.GsBase] = newBase;
        return SystemOutcome.Continue;
    }

    // ---- SYSCALL / SYSRET --------------------------------------------------------------------

    private SystemOutcome Syscall(VcpuState state, ulong nextRip, ref GuestFault fault)
    {
        if (SyscallFaults(state)) return Ud(ref fault);
        _flags.WriteRflags(state, EnterSyscall(state, nextRip, _flags.ReadRflags(state)));
        return SystemOutcome.Jump;
    }

    private SystemOutcome Sysret(VcpuState state, ref GuestFault fault)
    {
        if (SyscallFaults(state)) return Ud(ref fault);
        if (SysretFaults(state)) return Gp(ref fault); // with EFER.SCE set, what is left is #GP
        _flags.WriteRflags(state, LeaveSysret(state));
        return SystemOutcome.Jump;
    }

    /// <summary>The flags accessor this instance reads and writes RFLAGS through.</summary>
    public IFlagsAccess Flags => _flags;

    /// <summary>Whether SYSCALL would fault (#UD): EFER.SCE is clear.</summary>
    public static bool SyscallFaults(VcpuState state) => (state.Sys.Efer & ControlBits.EferSCE) == 0;

    /// <summary>
    /// SYSCALL once it is known not to fault (<see cref="SyscallFaults"/>): the return RIP into RCX and RFLAGS
    /// (<paramref name="rflags"/>, as read before) into R11, CS and SS from STAR, CPL 0, RIP from
    /// LSTAR; answers RFLAGS after it (masked by FMASK), which the caller writes. Shared with code
    /// generators that do SYSCALL without the <see cref="ISystemInstructions"/> call.
    /// </summary>
    public static ulong EnterSyscall(VcpuState state, ulong nextRip, ulong rflags)
    {
        var sys = state.Sys;
        state.Slots[GuestReg.Rcx] = nextRip;
        state.Slots[GuestReg.R11] = rflags & ~Rflags.RF;
        ushort cs = (ushort)((sys.Star >> 32) & 0xFFFC);
        sys.Cs = cs;
        sys.Ss = (ushort)(cs + 8);
        state.Cpl = 0;
        state.Rip = sys.Lstar;
        return (rflags & ~(sys.Fmask | Rflags.RF | Rflags.VM)) | Rflags.Reserved1;
    }

    /// <summary>
    /// Whether SYSRET would fault: #UD without EFER.SCE (<see cref="SyscallFaults"/>), #GP outside
    /// ring 0 or with a non-canonical RCX (Intel raises it in ring 0; AMD would fault in ring 3).
    /// </summary>
    public static bool SysretFaults(VcpuState state) =>
        SyscallFaults(state) || state.Cpl != 0 || !Mmu.IsCanonical(state.Slots[GuestReg.Rcx]);

    /// <summary>
    /// SYSRET once it is known not to fault (<see cref="SysretFaults"/>): CS and SS from STAR, CPL 3,
    /// RIP from RCX; answers RFLAGS after it (from R11), which the caller writes.
    /// </summary>
    public static ulong LeaveSysret(VcpuState state)
    {
        var sys = state.Sys;
        ushort baseSel = (ushort)(sys.Star >> 48);
        sys.Cs = (ushort)((baseSel + 16) | 3);
        sys.Ss = (ushort)((baseSel + 8) | 3);
        state.Cpl = 3;
        state.Rip = state.Slots[GuestReg.Rcx];
        return (state.Slots[GuestReg.R11] & 0x3C_7FD7) | Rflags.Reserved1;
    }
}
