using System.Buffers.Binary;
using Drk.Dispatcher.Execution;
using Drk.Hv;
using Drk.Hv.Boot;
using Iced.Intel;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// Containment: a guest that executes random bytes as kernel code and makes random wild writes
/// (into its page tables, IDT, GDT, its own code, the local APIC, anywhere) must end every run
/// with a guest-level outcome (debug exit, triple fault, instruction budget, deadlock, fault
/// loop), never a host exception. Each case boots a fresh image through the loader and the
/// whole run loop, in process.
/// </summary>
/// <remarks>
/// The image: a GDT with a TSS, an IDT whose 256 gates all lead (on the IST stack, in two cases
/// of three) to a recovery handler, which counts the event,
/// resets the stack and jumps back into the random bytes at another offset (so a case keeps
/// executing garbage after its faults), a prologue of seeded wild writes (sometimes followed by a
/// CR3 reload so corrupted page tables take effect), then a jump into 4 KiB of random bytes.
/// </remarks>
public sealed class ContainmentTests(ITestOutputHelper output)
{
    private const int Cases = 400;
    private const ulong Garbage = TestElf.Base + 0x1000;
    private const int GarbageBytes = 0x1000;
    private const ulong Handler = TestElf.Base + 0x2000;
    private const ulong Idt = TestElf.Base + 0x3000;
    private const ulong Counter = TestElf.Base + 0x4000;
    private const ulong Gdt = TestElf.Base + 0x4100;
    private const ulong Tss = TestElf.Base + 0x4200;
    private const ushort TssSelector = 0x18;
    private const ulong Stack = 0x40_0000;

    [Fact]
    public void Random_code_and_wild_writes_never_crash_the_host()
    {
        var outcomes = new Dictionary<MachineStopReason, int>();
        var failures = new List<string>();
        for (int seed = 1; seed <= Cases; seed++)
        {
            var (result, cpus) = RunCase(seed);
            outcomes[result.Reason] = outcomes.GetValueOrDefault(result.Reason) + 1;
            if (result.Reason is MachineStopReason.InternalError or MachineStopReason.None)
                failures.Add($"seed {seed} ({cpus} vCPUs): {result.Summary}\n{result.Error}\n{result.Dump}");
        }
        foreach (var (reason, count) in outcomes.OrderBy(p => p.Key))
            output.WriteLine($"{MachineRunResult.NameOf(reason)}: {count}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {Cases} cases crashed the host:\n{string.Join("\n\n", failures.Take(3))}");
        Assert.True(outcomes.Count >= 3, "the cases should end in several different ways");
    }

    private static (MachineRunResult Result, int Cpus) RunCase(int seed)
    {
        var random = new Random(seed);
        int cpus = 1 + seed % 2;
        byte[] image = BuildImage(random);
        using var machine = MachineRunner.CreateMachine(new MachineConfig { RamSize = 8UL << 20, CpuCount = cpus });
        PvhBootLoader.Boot(machine, image, new BootOptions { CommandLine = "garbage" });
        var runner = new MachineRunner(machine, new MachineRunOptions
        {
            MaxInstructions = 20_000,
            MaxStalledBlocks = 2_000,
            IdleRoundsBeforeDeadlock = 200,
        });
        return (runner.Run(), cpus);
    }

    private static byte[] BuildImage(Random random)
    {
        var garbage = new byte[GarbageBytes];
        random.NextBytes(garbage);
        var handler = TestElf.Assemble(a =>
        {
            a.mov(rsp, Stack);
            a.mov(rbx, Counter);
            a.mov(rax, __qword_ptr[rbx]);
            a.inc(rax);
            a.mov(__qword_ptr[rbx], rax);
            a.imul(rax, rax, 97);
            a.and(eax, GarbageBytes - 16);
            a.mov(rcx, Garbage);
            a.add(rax, rcx);
            a.jmp(rax);
        }, Handler);
        // With an IST stack, delivery works whatever the garbage did to RSP; without, a bad RSP ends in a triple fault.
        bool ist = random.Next(3) != 0;
        var idt = new byte[256 * 16];
        for (int v = 0; v < 256; v++)
        {
            var (low, high) = Hv.Cpu.GateDescriptor.Encode(Handler, BootLayout.CodeSelector, Hv.Cpu.GateDescriptor.InterruptGate, 0, ist ? 1 : 0);
            BinaryPrimitives.WriteUInt64LittleEndian(idt.AsSpan(v * 16), low);
            BinaryPrimitives.WriteUInt64LittleEndian(idt.AsSpan(v * 16 + 8), high);
        }
        int writes = random.Next(0, 24);
        bool reloadCr3 = random.Next(2) == 0;
        var targets = new ulong[writes];
        var values = new ulong[writes];
        for (int i = 0; i < writes; i++)
        {
            targets[i] = WildTarget(random);
            values[i] = random.Next(4) == 0 ? (ulong)random.NextInt64() : (ulong)random.Next(256);
        }
        var prologue = TestElf.Assemble(a =>
        {
            var idtr = a.CreateLabel();
            var gdtr = a.CreateLabel();
            a.lgdt(__[gdtr]);
            a.mov(eax, TssSelector);
            a.ltr(ax);
            a.lidt(__[idtr]);
            a.mov(rsp, Stack);
            for (int i = 0; i < writes; i++)
            {
                a.mov(rax, targets[i]);
                a.mov(rcx, values[i]);
                a.mov(__qword_ptr[rax], rcx);
            }
            if (reloadCr3)
            {
                a.mov(rax, cr3);
                a.mov(cr3, rax);
            }
            a.mov(rax, Garbage);
            a.jmp(rax);
            a.Label(ref idtr);
            a.dw(256 * 16 - 1);
            a.dq(Idt);
            a.Label(ref gdtr);
            a.dw(5 * 8 - 1);
            a.dq(Gdt);
        }, TestElf.Base);

        var code = new byte[0x5000];
        prologue.CopyTo(code, 0);
        garbage.CopyTo(code, (int)(Garbage - TestElf.Base));
        handler.CopyTo(code, (int)(Handler - TestElf.Base));
        idt.CopyTo(code, (int)(Idt - TestElf.Base));
        // GDT: null, the loader's code and data, a 64-bit TSS whose IST1 is the recovery stack.
        var gdt = code.AsSpan((int)(Gdt - TestElf.Base), 5 * 8);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt[8..], BootLayout.CodeDescriptor);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt[16..], BootLayout.DataDescriptor);
        const ulong limit = 0x67;
        BinaryPrimitives.WriteUInt64LittleEndian(gdt[24..], limit | ((Tss & 0xFF_FFFF) << 16) | (0x89UL << 40) | ((Tss >> 24 & 0xFF) << 56));
        BinaryPrimitives.WriteUInt64LittleEndian(gdt[32..], Tss >> 32);
        BinaryPrimitives.WriteUInt64LittleEndian(code.AsSpan((int)(Tss - TestElf.Base) + 0x24), Stack);
        // One writable, executable segment: the garbage may write anything, its own code included.
        return TestElf.Build(TestElf.Base, new TestElf.Segment(TestElf.Base, code));
    }

    /// <summary>Where a wild write lands: the loader's page tables, GDT or start info, the IDT, the handler, the garbage, the stack, RAM, the APIC, or nowhere.</summary>
    private static ulong WildTarget(Random random) => random.Next(10) switch
    {
        0 or 1 => BootLayout.PageTablesAddress + (ulong)random.Next((int)BootLayout.PageTablesSize / 8) * 8,
        2 => BootLayout.GdtAddress + (ulong)random.Next(3) * 8,
        3 => Idt + (ulong)random.Next(256 * 16 / 8) * 8,
        4 => Handler + (ulong)random.Next(64),
        5 => Garbage + (ulong)random.Next(GarbageBytes - 8),
        6 => Stack - 8 - (ulong)random.Next(256) * 8,
        7 => (ulong)random.NextInt64(8L << 20) & ~7UL,
        8 => 0xFEE0_0000UL + (ulong)random.Next(0x400) * 4 & ~7UL,
        _ => (ulong)random.NextInt64() & 0xFFFF_FFFF_FFF8,
    };
}
