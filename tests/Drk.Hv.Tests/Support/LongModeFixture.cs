using System.Buffers.Binary;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Hv.Tests.Support;

/// <summary>
/// A vCPU in 64-bit long mode over 16 MiB of RAM: identity-mapped first 8 MiB for user and
/// supervisor (4 KiB pages), a GDT with kernel and user segments and a TSS, an IDT, and
/// <see cref="SystemInstructions"/> with eager flags.
/// </summary>
public sealed class LongModeFixture : IDisposable
{
    public const ushort KernelCs = 0x08, KernelSs = 0x10, UserSs = 0x1B, UserCs = 0x23, TssSelector = 0x28;
    public const ulong GdtBase = 0x1000, IdtBase = 0x2000, TssBase = 0x3000, TableArea = 0x10_0000;
    public const ulong Rsp0 = 0x40_0000, Ist1 = 0x50_0000, KernelStack = 0x60_0000, UserStack = 0x70_0000;

    public LongModeFixture(ulong ramSize = 16 << 20)
    {
        Memory = new PhysicalMemory(ramSize);
        State = new VcpuState();
        Mmu = new Mmu(Memory, State);
        Tables = new PageTableBuilder(Memory, TableArea);
        for (ulong a = 0; a < 8 << 20; a += 0x1000)
            Tables.Map(a, a, PageTableBuilder.P | PageTableBuilder.RW | PageTableBuilder.US);
        System = new SystemInstructions(EagerFlags.Instance) { Mmu = Mmu };

        WriteGdt(0, 0);
        WriteGdt(1, 0x00AF_9A00_0000_FFFF); // 0x08 kernel code, 64-bit
        WriteGdt(2, 0x00CF_9200_0000_FFFF); // 0x10 kernel data
        WriteGdt(3, 0x00CF_F200_0000_FFFF); // 0x18 user data (DPL 3)
        WriteGdt(4, 0x00AF_FA00_0000_FFFF); // 0x20 user code, 64-bit (DPL 3)
        // 0x28: 64-bit TSS, base TssBase, limit 0x67, present, type 9.
        ulong tssLow = 0x67 | ((TssBase & 0xFF_FFFF) << 16) | (0x89UL << 40) | ((TssBase >> 24 & 0xFF) << 56);
        WriteGdt(5, tssLow);
        WriteGdt(6, TssBase >> 32);
        Write64(TssBase + 4, Rsp0);
        Write64(TssBase + 0x24, Ist1);

        var sys = State.Sys;
        sys.Cr0 = 0x8001_0031;
        sys.Cr3 = Tables.Cr3;
        sys.Cr4 = 0x20;
        sys.Efer = 0xD01; // SCE, LME, LMA, NXE
        sys.Gdtr = new DescriptorTableRegister(GdtBase, 7 * 8 - 1);
        sys.Idtr = new DescriptorTableRegister(IdtBase, 256 * 16 - 1);
        sys.Tr = new TaskRegister { Selector = TssSelector, Base = TssBase, Limit = 0x67 };
        sys.Cs = KernelCs;
        sys.Ss = sys.Ds = sys.Es = KernelSs;
        State.Cpl = 0;
        State.Slots[GuestReg.FlagsOther] = Drk.Hv.Cpu.Rflags.Reserved1 | Drk.Hv.Cpu.Rflags.IF;
        State.Slots[GuestReg.Rsp] = KernelStack;
        State.Rip = 0x20_0000;
    }

    public PhysicalMemory Memory { get; }
    public VcpuState State { get; }
    public Mmu Mmu { get; }
    public PageTableBuilder Tables { get; }
    public SystemInstructions System { get; }
    public InterruptDelivery Delivery => System.Delivery;

    public void WriteGdt(int index, ulong descriptor) => Write64(GdtBase + (ulong)index * 8, descriptor);

    /// <summary>Installs IDT gate <paramref name="vector"/> pointing at <paramref name="handler"/> in the kernel code segment.</summary>
    public void SetGate(int vector, ulong handler, int type = GateDescriptor.InterruptGate, int dpl = 0, int ist = 0,
        bool present = true, ushort selector = KernelCs)
    {
        var (low, high) = GateDescriptor.Encode(handler, selector, type, dpl, ist, present);
        Write64(IdtBase + (ulong)vector * 16, low);
        Write64(IdtBase + (ulong)vector * 16 + 8, high);
    }

    /// <summary>Switches to CPL 3 with user selectors and the user stack.</summary>
    public void EnterUser(ulong rip = 0x30_0000)
    {
        State.Cpl = 3;
        State.Sys.Cs = UserCs;
        State.Sys.Ss = UserSs;
        State.Slots[GuestReg.Rsp] = UserStack;
        State.Rip = rip;
    }

    public ulong Read64(ulong physical) => BinaryPrimitives.ReadUInt64LittleEndian(Memory.GetRamSpan(physical, 8));

    public void Write64(ulong physical, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Memory.GetRamSpan(physical, 8), value);

    public SystemOutcome Exec(SystemOp op, ulong a = 0, ulong b = 0) => System.Execute(op, State, Mmu, a, b, out _, out _);

    public SystemOutcome Exec(SystemOp op, ulong a, ulong b, out ulong result, out GuestFault fault) =>
        System.Execute(op, State, Mmu, a, b, out result, out fault);

    public void Dispose() => Memory.Dispose();
}
