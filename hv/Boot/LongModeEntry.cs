using Drk.Hv.Cpu;

namespace Drk.Hv.Boot;

/// <summary>
/// Puts a vCPU in the state the boot contract promises at the kernel's 64-bit entry: long mode
/// at CPL 0, paging on with the given CR3, interrupts off, flat 64-bit code segment from the boot
/// GDT, EFER.LME/LMA/NXE, CR0.PE/PG/WP, CR4.PAE.
/// </summary>
/// <remarks>
/// The IDT is empty (limit 0): any exception before the kernel loads its own IDT becomes a
/// triple fault, reported with a state dump. RSP is 0: the kernel sets up its stack first.
/// All other GPRs are zero; RFLAGS is 0x2.
/// </remarks>
public static class LongModeEntry
{
    public const ulong Cr0 = ControlBits.Cr0PE | ControlBits.Cr0ET | ControlBits.Cr0NE | ControlBits.Cr0WP | ControlBits.Cr0PG;
    public const ulong Cr4 = ControlBits.Cr4PAE;
    public const ulong Efer = ControlBits.EferLME | ControlBits.EferLMA | ControlBits.EferNXE;

    /// <summary>Sets up <paramref name="vcpu"/> to start at <paramref name="rip"/> with RBX = <paramref name="rbx"/>.</summary>
    public static void Apply(Vcpu vcpu, ulong rip, ulong rbx, ulong cr3, ulong gdtBase = BootLayout.GdtAddress)
    {
        Apply(vcpu.State, rip, rbx, cr3, gdtBase);
        vcpu.Mmu.FlushAll();
        vcpu.WaitingForStartup = false;
    }

    /// <summary>As <see cref="Apply(Vcpu, ulong, ulong, ulong, ulong)"/> on a bare state (the caller flushes any MMU).</summary>
    public static void Apply(VcpuState state, ulong rip, ulong rbx, ulong cr3, ulong gdtBase = BootLayout.GdtAddress)
    {
        var sys = state.Sys;
        Array.Clear(state.Slots);
        state.Slots[GuestReg.FlagsOther] = Rflags.Reserved1;
        state.Slots[GuestReg.Rbx] = rbx;
        state.Rip = rip;
        state.Cpl = 0;
        sys.Cr0 = Cr0;
        sys.Cr2 = 0;
        sys.Cr3 = cr3;
        sys.Cr4 = Cr4;
        sys.Cr8 = 0;
        sys.Efer = Efer;
        sys.Gdtr = new DescriptorTableRegister(gdtBase, 3 * 8 - 1);
        sys.Idtr = new DescriptorTableRegister(0, 0);
        sys.Tr = default;
        sys.Ldtr = 0;
        sys.Cs = BootLayout.CodeSelector;
        sys.Ss = sys.Ds = sys.Es = BootLayout.DataSelector;
        sys.Fs = sys.Gs = 0;
        sys.KernelGsBase = 0;
        sys.InterruptShadow = false;
        sys.Halted = false;
        sys.NmiBlocked = false;
    }
}
