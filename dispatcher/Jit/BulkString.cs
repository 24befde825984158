using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Iced.Intel;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// Many iterations of a REP STOS or REP MOVS at once, inside a trace or before the block runs
/// alone on a JIT tier: as many as come before the stop, a host fill or copy per page of the
/// operands, with exactly the state (registers, memory, retired count, tool
/// counters) that running them one block boundary at a time leaves.
/// </summary>
/// <remarks>
/// <para>
/// The lowering runs a REP string instruction as one iteration per block execution
/// (<c>StringLowering</c>): each iteration retires one instruction and is a block boundary where
/// the run loop may take an interrupt. A trace loops on such a block, which costs a boundary, a
/// soft-TLB test and a store per element: the boot's <c>memset</c> of 2 MiB was some 8 ms of every
/// run. Before the block's own code, the trace calls <see cref="Fill"/> or <see cref="Copy"/>,
/// which do what they can and answer how many iterations that was; the block then runs one more
/// iteration itself, which decides the exit as always (so the last iteration, and every case the
/// helpers refuse, is the lowering's own). The dispatch loop does the same before it runs such a
/// block alone (<see cref="RunBefore"/>), with the stop a trace entered there would get.
/// </para>
/// <para>
/// Why that is the same as one iteration at a time: the iterations done here stop short of the
/// budget's stop (the retired count where the trace must give the run loop control: the round's
/// end or the APIC's next possible interrupt), so no boundary among them would have left the
/// trace; and their accesses hit the soft TLB's fast path for whole pages, which is exactly what
/// the compiled code's own accesses test element by element. A page whose entry misses is walked
/// first, as the block's own access to its first element would (accessed and dirty bits, the
/// entry's fill), since that element comes next either way; a walk that faults, MMIO and a
/// write-watched code page are left to the block. An overlapping forward MOVS, which copies
/// its own output, and a backward one (DF set, left to the block by the caller) are not done here.
/// </para>
/// <para>
/// A block a tool instruments is done in bulk only when its tool ops are counter adds of a fixed
/// amount per iteration (inscount's retirement counts), and then the counters advance by as much
/// as the iterations would have added; a tool that calls back (clean calls, Meta ops: one that
/// sees memory accesses) or adds amounts that depend on the data sees every iteration, as in the
/// interpreter (<see cref="IsCandidate"/>).
/// </para>
/// </remarks>
internal static class BulkString
{
    private const ulong PageSize = TlbFastPath.PageOffsetMask + 1;

    /// <summary>
    /// Whether <paramref name="block"/> is a lone REP STOS or REP MOVS (64-bit addresses, a source
    /// with base 0) and nothing else: no system op, and no tool op but counters that grow by a fixed
    /// amount on every iteration that goes on (<see cref="CounterStepsOf"/>: inscount's).
    /// <paramref name="copy"/> says which; <paramref name="size"/> is the element's bytes;
    /// <paramref name="counters"/> what each iteration done here adds to which counter.
    /// </summary>
    public static bool IsCandidate(IrBlock block, out bool copy, out int size, out CounterStep[] counters)
    {
        copy = false;
        size = 0;
        counters = [];
        if (block.Instructions.Length != 1) return false;
        ref readonly var insn = ref block.Instructions[0].Instruction;
        if (!insn.HasRepPrefix && !insn.HasRepnePrefix) return false;
        switch (insn.Code)
        {
            case Code.Stosb_m8_AL: size = 1; break;
            case Code.Stosw_m16_AX: size = 2; break;
            case Code.Stosd_m32_EAX: size = 4; break;
            case Code.Stosq_m64_RAX: size = 8; break;
            case Code.Movsb_m8_m8: size = 1; copy = true; break;
            case Code.Movsw_m16_m16: size = 2; copy = true; break;
            case Code.Movsd_m32_m32: size = 4; copy = true; break;
            case Code.Movsq_m64_m64: size = 8; copy = true; break;
            default: return false;
        }
        // 67h (ESI/EDI/ECX) and an FS or GS source are left to the block.
        for (int n = 0; n < insn.OpCount; n++)
            if (insn.GetOpKind(n) is OpKind.MemorySegESI or OpKind.MemoryESEDI or OpKind.MemorySegEDI)
                return false;
        if (copy && insn.MemorySegment is Register.FS or Register.GS) return false;
        bool counted = false;
        foreach (ref readonly var op in block.Ops)
        {
            if (op.Code is IrOpcode.CleanCall or IrOpcode.Meta or IrOpcode.System) return false;
            counted |= op.Code == IrOpcode.CounterAdd;
        }
        if (!counted) return true;
        var steps = CounterStepsOf(block.Ops);
        if (steps is null) return false;
        counters = steps;
        return true;
    }

    /// <summary>
    /// What the block's counter adds come to on an iteration that goes on, that is, leaves by its
    /// final exit back to itself with every conditional exit untaken: an add of a constant adds it,
    /// an add of a conditional exit's condition (zero-extended; how <c>RetirementCounting</c> counts
    /// an instruction that a taken exit retires) adds 0. Null when an add has another operand (a
    /// count that depends on the data is never done in bulk).
    /// </summary>
    private static CounterStep[]? CounterStepsOf(Span<IrOp> ops)
    {
        var steps = new List<CounterStep>();
        foreach (ref readonly var op in ops)
        {
            if (op.Code != IrOpcode.CounterAdd) continue;
            int def = DefinitionOf(ops, op.A);
            if (def < 0) return null;
            ref readonly var d = ref ops[def];
            long delta;
            if (d.Code == IrOpcode.Const) delta = (long)d.Imm;
            else if (d.Code == IrOpcode.ZExt && IsExitCondition(ops, d.A)) delta = 0;
            else return null;
            int counter = checked((int)op.Imm);
            int at = steps.FindIndex(c => c.Counter == counter);
            if (at < 0) steps.Add(new CounterStep(counter, delta));
            else steps[at] = new CounterStep(counter, steps[at].Delta + delta);
        }
        steps.RemoveAll(c => c.Delta == 0);
        return steps.ToArray();
    }

    private static int DefinitionOf(Span<IrOp> ops, ushort temp)
    {
        for (int i = 0; i < ops.Length; i++)
            if (ops[i].Dst == temp && ops[i].Code != IrOpcode.Nop) return i;
        return -1;
    }

    private static bool IsExitCondition(Span<IrOp> ops, ushort temp)
    {
        foreach (ref readonly var op in ops)
            if (op.Code == IrOpcode.ExitIf && op.A == temp) return true;
        return false;
    }

    /// <summary>
    /// REP STOS: stores <paramref name="value"/> (its low <paramref name="size"/> bytes) at
    /// <paramref name="destination"/> onwards, for at most <paramref name="count"/> - 1 elements
    /// (the last is the block's), page by page while each page's soft-TLB entry takes the write
    /// (refilled through <paramref name="mmu"/> when it misses), and while the retired count
    /// <paramref name="retired"/> plus the elements plus the block's own iteration stays at or below
    /// <paramref name="budget"/>'s stop. Answers the elements stored (0: none, the block goes on alone).
    /// </summary>
    /// <param name="tlb">The soft TLB's entries for the trace's privilege level (<see cref="TlbFastPath"/>).</param>
    public static ulong Fill(TraceBudget budget, Mmu mmu, nint tlb, ulong destination, ulong value, ulong count, ulong retired, int size)
    {
        ulong n = FillBefore(budget.StopRetired, mmu, tlb, destination, value, count, retired, size);
        budget.BulkIterations += (long)n;
        return n;
    }

    /// <summary>
    /// REP MOVS: copies elements from <paramref name="source"/> to <paramref name="destination"/>
    /// under the limits of <see cref="Fill"/>, page by page of both operands; it stops where the
    /// destination starts inside the source's bytes still to copy (a forward copy then repeats its
    /// own output).
    /// </summary>
    public static ulong Copy(TraceBudget budget, Mmu mmu, nint tlb, ulong destination, ulong source, ulong count, ulong retired, int size)
    {
        ulong n = CopyBefore(budget.StopRetired, mmu, tlb, destination, source, count, retired, size);
        budget.BulkIterations += (long)n;
        return n;
    }

    /// <summary>
    /// Before a lone REP STOS or REP MOVS block (<paramref name="fragment"/>, a
    /// <see cref="IsCandidate"/>) runs outside any trace: the same iterations a trace would do here
    /// (<see cref="Fill"/>, <see cref="Copy"/>, stopping short of <paramref name="stop"/>), with
    /// RCX, RDI (and RSI) and the retired count moved on in <paramref name="state"/>; then the
    /// block runs its own iteration as always. Answers the iterations done.
    /// </summary>
    /// <remarks>
    /// Until its trace is compiled, or when it joins none, the block runs once per element through
    /// the dispatch loop: the boot's <c>memset</c> of the page descriptors went some 230,000
    /// elements that way before its trace arrived.
    /// </remarks>
    public static ulong RunBefore(Fragment fragment, VcpuState state, Mmu mmu, nint tlb, ulong stop, CounterTable counters)
    {
        var slots = state.Slots;
        ulong count = slots[GuestReg.Rcx];
        if (count < 2 || (slots[GuestReg.FlagsOther] & Rflags.DF) != 0) return 0;
        int size = fragment.BulkSize;
        ulong n = fragment.BulkCopy
            ? CopyBefore(stop, mmu, tlb, slots[GuestReg.Rdi], slots[GuestReg.Rsi], count, state.InstructionsRetired, size)
            : FillBefore(stop, mmu, tlb, slots[GuestReg.Rdi], slots[GuestReg.Rax], count, state.InstructionsRetired, size);
        if (n == 0) return 0;
        slots[GuestReg.Rcx] = count - n;
        slots[GuestReg.Rdi] += n * (ulong)size;
        if (fragment.BulkCopy) slots[GuestReg.Rsi] += n * (ulong)size;
        state.InstructionsRetired += n;
        foreach (var step in fragment.BulkCounters) counters.Slot(step.Counter) += (long)n * step.Delta;
        return n;
    }

    private static unsafe ulong FillBefore(ulong stop, Mmu mmu, nint tlb, ulong destination, ulong value, ulong count, ulong retired, int size)
    {
        ulong done = 0;
        while (true)
        {
            ulong n = Room(stop, destination, count - done, retired + done, size);
            if (n == 0) return done;
            byte* to = HostAddressOrRefill(mmu, tlb, destination, AccessKind.Write);
            if (to == null) return done;
            switch (size)
            {
                case 1: new Span<byte>(to, (int)n).Fill((byte)value); break;
                case 2: new Span<ushort>(to, (int)n).Fill((ushort)value); break;
                case 4: new Span<uint>(to, (int)n).Fill((uint)value); break;
                default: new Span<ulong>(to, (int)n).Fill(value); break;
            }
            done += n;
            destination += n * (ulong)size;
        }
    }

    private static unsafe ulong CopyBefore(ulong stop, Mmu mmu, nint tlb, ulong destination, ulong source, ulong count, ulong retired, int size)
    {
        ulong done = 0;
        while (true)
        {
            ulong n = Math.Min(Room(stop, destination, count - done, retired + done, size), InPage(source, size));
            if (n == 0) return done;
            // The source's page first, as the block's own iteration reads before it writes; the
            // destination's refill may evict the source's entry (both pages can share an index), so
            // the source is looked up again after it.
            if (HostAddressOrRefill(mmu, tlb, source, AccessKind.Read) == null) return done;
            byte* to = HostAddressOrRefill(mmu, tlb, destination, AccessKind.Write);
            byte* from = HostAddress(tlb, source, TlbFastPath.ReadTagOffset);
            if (to == null || from == null) return done;
            ulong bytes = n * (ulong)size;
            if (to > from && to < from + bytes) return done;
            Buffer.MemoryCopy(from, to, bytes, bytes);
            done += n;
            destination += bytes;
            source += bytes;
        }
    }

    /// <summary>
    /// <see cref="HostAddress"/>, after filling the page's entry through the MMU when it misses:
    /// the walk (with its accessed and dirty bits) that the block's own access to this element would
    /// make next, since it is the first element not yet done. A walk that faults, or a page the fast
    /// path does not take (MMIO, watched code), answers null and leaves the element to the block.
    /// </summary>
    private static unsafe byte* HostAddressOrRefill(Mmu mmu, nint tlb, ulong address, AccessKind kind)
    {
        int tagOffset = kind == AccessKind.Write ? TlbFastPath.WriteTagOffset : TlbFastPath.ReadTagOffset;
        byte* host = HostAddress(tlb, address, tagOffset);
        if (host != null) return host;
        if (!mmu.Translate(address, kind, out _, out _)) return null;
        return HostAddress(tlb, address, tagOffset);
    }

    /// <summary>Elements that may be done here: fewer than <paramref name="count"/>, before the stop, within the destination's page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Room(ulong stop, ulong destination, ulong count, ulong retired, int size)
    {
        // The block's own iteration retires one more and must still be at or before the stop.
        if (count < 2 || stop <= retired + 1) return 0;
        ulong n = Math.Min(count - 1, stop - retired - 1);
        return Math.Min(n, InPage(destination, size));
    }

    /// <summary>Whole elements from <paramref name="address"/> to the end of its page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong InPage(ulong address, int size) => (PageSize - (address & TlbFastPath.PageOffsetMask)) / (ulong)size;

    /// <summary>The host address of <paramref name="address"/> when its page's entry hits for the access (the tag at <paramref name="tagOffset"/>), else null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe byte* HostAddress(nint tlb, ulong address, int tagOffset)
    {
        byte* entry = (byte*)tlb + (((address >> TlbFastPath.PageShift) & TlbFastPath.IndexMask) << TlbFastPath.EntryShift);
        if (*(ulong*)(entry + tagOffset) != (address & ~TlbFastPath.PageOffsetMask)) return null;
        return (byte*)(*(nint*)(entry + TlbFastPath.HostAddendOffset)) + (nint)address;
    }
}
