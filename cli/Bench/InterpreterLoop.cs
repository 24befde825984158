using Drk.Dispatcher.Decoding;
using Drk.Hv.Boot;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Cli.Bench;

/// <summary>
/// The guest workload of <c>drk bench interp</c>: an integer loop of 19 instructions per
/// iteration with one load and one store (a hash over a 2 KiB table), the shape measured
/// natively in DESIGN.md section 10. RCX counts iterations down; RIP reaches <see cref="StopRip"/> at the end.
/// </summary>
internal sealed class InterpreterLoop
{
    public const ulong CodeBase = 0x40_0000;
    public const ulong DataBase = 0x60_0000;
    public const ulong StackTop = 0x80_0000;

    /// <summary>Guest instructions retired per iteration.</summary>
    public const int InstructionsPerIteration = 19;

    /// <summary>Instructions before the loop.</summary>
    public const int PrologueInstructions = 5;

    public InterpreterLoop()
    {
        var a = new Assembler(64);
        var top = a.CreateLabel();
        var skip = a.CreateLabel();
        a.mov(rdi, DataBase);
        a.xor(edx, edx);
        a.xor(esi, esi);
        a.mov(ebx, 0x1234);
        a.xor(r10d, r10d);
        a.Label(ref top);
        a.mov(rax, __qword_ptr[rdi + rdx * 8]);   // load
        a.add(rax, rsi);
        a.imul(rax, rax, 0x2545_f491);
        a.xor(rax, rbx);
        a.mov(r8, rax);
        a.shr(r8, 7);
        a.xor(rax, r8);
        a.lea(rbx, __[rbx + rax * 2 + 1]);
        a.mov(__qword_ptr[rdi + rdx * 8], rax);   // store
        a.add(rsi, 3);
        a.inc(rdx);
        a.and(edx, 255);
        a.mov(r9, rax);
        a.and(r9d, 15);
        a.cmp(r9d, 16);
        a.je(skip);                                  // never taken: the loop is two blocks
        a.add(r10, 1);
        a.Label(ref skip);
        a.dec(rcx);
        a.jne(top);
        a.nop();
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), CodeBase);
        Code = stream.ToArray();
        StopRip = CodeBase + (ulong)Code.Length - 1;
    }

    /// <summary>The machine code, placed at <see cref="CodeBase"/>.</summary>
    public byte[] Code { get; }

    /// <summary>RIP of the NOP after the loop.</summary>
    public ulong StopRip { get; }

    /// <summary>Guest instructions retired by a run of <paramref name="iterations"/> iterations.</summary>
    public static long InstructionsFor(long iterations) => PrologueInstructions + iterations * InstructionsPerIteration;

    /// <summary>A fresh flat memory with the code, the table and a stack mapped.</summary>
    public FlatMemory CreateMemory()
    {
        var memory = new FlatMemory();
        memory.Map(CodeBase, (byte[])Code.Clone(), writable: false);
        memory.Map(DataBase, new byte[0x1000], executable: false);
        memory.Map(StackTop - 0x1000, new byte[0x1000], executable: false);
        return memory;
    }

    /// <summary>Where the identity page tables of <see cref="CreateMmu"/> live.</summary>
    private const ulong PageTablesBase = 0x10_0000;

    /// <summary>
    /// The hypervisor's memory path instead: 16 MiB of RAM, the loader's identity page tables,
    /// long mode with paging on, and an <see cref="Mmu"/> (soft TLB) for <paramref name="state"/>.
    /// </summary>
    public Mmu CreateMmu(PhysicalMemory physical, VcpuState state)
    {
        physical.WriteBytes(CodeBase, Code);
        physical.WriteBytes(DataBase, new byte[0x1000]);
        state.Sys.Cr3 = IdentityPageTables.Build(physical, PageTablesBase);
        state.Sys.Cr0 = LongModeEntry.Cr0;
        state.Sys.Cr4 = LongModeEntry.Cr4;
        state.Sys.Efer = LongModeEntry.Efer;
        return new Mmu(physical, state);
    }

    /// <summary>The RIPs of the blocks the loop executes (prologue + first loop block, the loop top, the block after the JE), found by decoding from <see cref="CodeBase"/>.</summary>
    public List<ulong> BlockStarts(BlockDecoder decoder)
    {
        var starts = new List<ulong>();
        var pending = new Queue<ulong>();
        pending.Enqueue(CodeBase);
        while (pending.Count > 0)
        {
            ulong rip = pending.Dequeue();
            if (starts.Contains(rip) || rip == StopRip) continue;
            starts.Add(rip);
            if (!decoder.TryDecode(rip, out var insns, out _)) continue;
            var last = insns[^1].Instruction;
            pending.Enqueue(last.NextIP);
            if (last.FlowControl == FlowControl.ConditionalBranch) pending.Enqueue(last.NearBranchTarget);
        }
        return starts;
    }

    /// <summary>The vCPU state at the loop's entry for <paramref name="iterations"/> iterations.</summary>
    public static VcpuState CreateState(long iterations)
    {
        var state = new VcpuState();
        Reset(state, iterations);
        return state;
    }

    /// <summary>Puts <paramref name="state"/> at the loop's entry for <paramref name="iterations"/> iterations (system registers untouched).</summary>
    public static void Reset(VcpuState state, long iterations)
    {
        Array.Clear(state.Slots);
        state.Rip = CodeBase;
        state[GuestReg.Rcx] = (ulong)iterations;
        state[GuestReg.Rsp] = StackTop - 0x100;
        state.Slots[GuestReg.FlagsOther] = 2;
    }
}
