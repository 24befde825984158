using System.Buffers.Binary;
using Drk.Dispatcher.Execution;
using Drk.Hv;
using Drk.Hv.Boot;
using Drk.Hv.Cpu;
using Drk.Hv.Devices;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Machine;

/// <summary>
/// A small machine for run-loop tests: 16 MiB of RAM, the loader's boot GDT and identity page
/// tables, an IDT, a stack, code assembled with Iced placed where the test says, and a
/// <see cref="MachineRunner"/> over it. vCPU 0 starts in long mode at CPL 0.
/// </summary>
internal sealed class TestMachine : IDisposable
{
    public const ulong CodeBase = 0x10_0000;
    public const ulong DataBase = 0x20_0000;
    public const ulong IdtBase = 0x1_0000;
    public const ulong StackTop = 0x8_0000;
    public const ulong ApicBase = LocalApic.DefaultBase;

    public TestMachine(int cpus = 1, MachineRunOptions? options = null)
    {
        Machine = MachineRunner.CreateMachine(new MachineConfig { RamSize = 16UL << 20, CpuCount = cpus, SerialOutput = Serial });
        var gdt = Machine.Memory.GetRamSpan(BootLayout.GdtAddress, 24);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt, BootLayout.NullDescriptor);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt[8..], BootLayout.CodeDescriptor);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt[16..], BootLayout.DataDescriptor);
        Cr3 = IdentityPageTables.Build(Machine.Memory, BootLayout.PageTablesAddress);
        Runner = new MachineRunner(Machine, options ?? new MachineRunOptions { VerifyIr = true });
    }

    public Hv.Machine Machine { get; }
    public MachineRunner Runner { get; }
    public MemoryStream Serial { get; } = new();
    public ulong Cr3 { get; }
    public Vcpu Bsp => Machine.Vcpus[0];
    public VcpuDispatcher BspDispatcher => Runner.Vcpus[0];

    /// <summary>Assembles <paramref name="emit"/> at <paramref name="address"/> (identity-mapped) and copies it there; returns the bytes.</summary>
    public byte[] Load(ulong address, Action<Assembler> emit)
    {
        var assembler = new Assembler(64);
        emit(assembler);
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), address);
        var bytes = stream.ToArray();
        bytes.CopyTo(Machine.Memory.GetRamSpan(address, bytes.Length));
        return bytes;
    }

    /// <summary>Puts vCPU 0 at <paramref name="rip"/> with the identity tables, the stack and an IDT of 256 not-present gates.</summary>
    public void Start(ulong rip = CodeBase)
    {
        LongModeEntry.Apply(Bsp, rip, 0, Cr3);
        Bsp.State.Slots[GuestReg.Rsp] = StackTop;
        Bsp.State.Sys.Idtr = new DescriptorTableRegister(IdtBase, 256 * 16 - 1);
    }

    /// <summary>Makes vector <paramref name="vector"/> an interrupt gate to <paramref name="handler"/>.</summary>
    public void SetGate(int vector, ulong handler)
    {
        var (low, high) = GateDescriptor.Encode(handler, BootLayout.CodeSelector, GateDescriptor.InterruptGate, 0);
        var entry = Machine.Memory.GetRamSpan(IdtBase + (ulong)vector * 16, 16);
        BinaryPrimitives.WriteUInt64LittleEndian(entry, low);
        BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], high);
    }

    public MachineRunResult Run() => Runner.Run();

    public ulong ReadPhysical(ulong address, int size = 8) => Machine.Memory.Read(address, size);

    public void WritePhysical(ulong address, ulong value, int size = 8) => Machine.Memory.Write(address, size, value);

    /// <summary>Emits <c>mov eax, src; out 0xf4, eax</c>: the machine stops with status = <paramref name="status"/>.</summary>
    public static void Exit(Assembler a, AssemblerRegister32 status)
    {
        if (status != AssemblerRegisters.eax) a.mov(AssemblerRegisters.eax, status);
        a.@out(0xf4, AssemblerRegisters.eax);
    }

    /// <summary>Emits <c>mov eax, imm; out 0xf4, eax</c>.</summary>
    public static void Exit(Assembler a, uint status)
    {
        a.mov(AssemblerRegisters.eax, status);
        a.@out(0xf4, AssemblerRegisters.eax);
    }

    public void Dispose() => Machine.Dispose();
}
