using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// A guest block translated for one vCPU's code cache: its key (guest RIP, physical address of its
/// first byte, CPL), its IR, and the physical bytes it was translated from (one or two pages).
/// </summary>
/// <remarks>
/// A block never spans more than two pages: the decoder ends it after the last instruction that
/// starts on its first page. Once <see cref="IsValid"/> is false (its code was written, or the
/// cache was flushed) the fragment is never run again.
/// </remarks>
public sealed class Fragment
{
    /// <summary>Value of <see cref="SecondPage"/> for a fragment that lies in one page.</summary>
    public const ulong NoPage = ulong.MaxValue;

    private const ulong PageMask = ~0xFFFUL;

    public Fragment(IrBlock block, ulong physicalAddress, int cpl, ulong secondPage, ulong secondLinearPage)
    {
        Block = block;
        Rip = block.StartRip;
        PhysicalAddress = physicalAddress;
        Cpl = cpl;
        var insns = block.Instructions;
        Length = (int)(insns[^1].NextRip - Rip);
        InstructionCount = insns.Length;
        SecondPage = secondPage;
        SecondLinearPage = secondLinearPage;
        bool onlyLeaves = true;
        foreach (ref readonly var op in block.Ops)
        {
            if (op.Code != IrOpcode.System) continue;
            HasSystemOp = true;
            var system = (Drk.Hv.Cpu.SystemOp)op.Aux;
            if (TraceSafeSystemOps.Contains(system)) continue;
            EndsTraces = true;
            onlyLeaves &= TraceSafeSystemOps.LeavesAlways(system);
        }
        MayEndTrace = EndsTraces && onlyLeaves;
        if (BulkString.IsCandidate(block, out bool copy, out int size, out var counters))
        {
            BulkSize = size;
            BulkCopy = copy;
            BulkCounters = counters;
        }
    }

    /// <summary>The guest RIP of the first instruction.</summary>
    public ulong Rip { get; }

    /// <summary>The physical address of the first byte.</summary>
    public ulong PhysicalAddress { get; }

    /// <summary>The privilege level the block was lowered for.</summary>
    public int Cpl { get; }

    /// <summary>The lowered (and usually optimised) IR.</summary>
    public IrBlock Block { get; }

    /// <summary>Bytes of guest code, from the first byte of the first instruction to the last byte of the last.</summary>
    public int Length { get; }

    /// <summary>Guest instructions in the block.</summary>
    public int InstructionCount { get; }

    /// <summary>The physical page of the first byte.</summary>
    public ulong FirstPage => PhysicalAddress & PageMask;

    /// <summary>The physical page holding the bytes past the first page, or <see cref="NoPage"/>.</summary>
    public ulong SecondPage { get; }

    /// <summary>The linear page of those bytes (checked on every lookup: its mapping may change alone), or <see cref="NoPage"/>.</summary>
    public ulong SecondLinearPage { get; }

    /// <summary>True when the block's bytes continue on a second page.</summary>
    public bool SpansTwoPages => SecondPage != NoPage;

    /// <summary>False once the fragment was dropped from its cache; it must not run again.</summary>
    public bool IsValid { get; private set; } = true;

    /// <summary>True once the fragment was added to a cache (only cached fragments are linked to or traced).</summary>
    public bool IsCached { get; internal set; }

    /// <summary>
    /// True when the block holds a system instruction: it may change the page tables, the CPL or
    /// interrupt state, so a link from it to its own page is checked in full.
    /// </summary>
    public bool HasSystemOp { get; }

    /// <summary>The element's bytes when the block is a lone REP STOS or REP MOVS that may go in bulk (<see cref="BulkString.IsCandidate"/>), else 0.</summary>
    internal int BulkSize { get; }

    /// <summary>With <see cref="BulkSize"/>: a REP MOVS (else a REP STOS).</summary>
    internal bool BulkCopy { get; }

    /// <summary>With <see cref="BulkSize"/>: what each iteration adds to the tools' counters.</summary>
    internal CounterStep[] BulkCounters { get; } = [];

    /// <summary>True when the block holds a system instruction that a trace cannot hold in its middle (<see cref="TraceSafeSystemOps"/>): it never heads one or joins one but as its last block (<see cref="MayEndTrace"/>).</summary>
    public bool EndsTraces { get; }

    /// <summary>
    /// True when every such instruction in the block always leaves it (SYSCALL, SYSRET: a jump or a
    /// fault, <see cref="TraceSafeSystemOps.LeavesAlways"/>): the block may be a trace's last, since
    /// nothing of the trace runs after the privilege changes.
    /// </summary>
    public bool MayEndTrace { get; }

    /// <summary>True while the block's IR is as lowered, not yet optimised: the dispatcher optimises it before it runs a second time.</summary>
    internal bool AwaitsOptimisation;

    /// <summary>Runs of a block that <see cref="AwaitsOptimisation"/>, alone.</summary>
    internal int RunsUnoptimised;

    // Links: the last two direct successors found for this fragment's exits. A link is only a
    // hint; it is followed after a cheap check (the target is valid, same CPL, same translation),
    // so invalidating a fragment unlinks it from every source at once, without back-pointers.
    internal Fragment? LinkA;
    internal Fragment? LinkB;

    /// <summary>The link (A or B) to the fragment at <paramref name="rip"/>, or null; unchecked.</summary>
    internal Fragment? LinkTo(ulong rip)
    {
        var link = LinkA;
        if (link is not null && link.Rip == rip) return link;
        link = LinkB;
        return link is not null && link.Rip == rip ? link : null;
    }

    /// <summary>
    /// True when the fragment is alive, lowered for <paramref name="cpl"/>, and its pages were
    /// found to translate as recorded at translation generation <paramref name="generation"/>
    /// (the current one, for the caller): then it is what a full look-up would find.
    /// </summary>
    internal bool IsCheckedAt(int cpl, ulong generation) => CheckedGeneration == generation && Cpl == cpl && IsValid;

    /// <summary>
    /// The MMU's <see cref="Drk.Hv.Memory.Mmu.TranslationGeneration"/> at which this fragment's
    /// pages were last found to translate to its physical pages at its CPL; 0 when never. While
    /// the generation is unchanged a link or indirect-branch hit needs no translation.
    /// </summary>
    internal ulong CheckedGeneration;

    /// <summary>NET trace-head counter: entries through a backward branch or a trace exit.</summary>
    internal int HeadCount;

    /// <summary>The trace that starts at this fragment, once one was recorded.</summary>
    internal Trace? Trace;

    // The traces this fragment is part of, dropped with it.
    private List<Trace>? _traces;

    /// <summary>
    /// A trace this fragment is a later block of (block <see cref="MemberSection"/>), the first one
    /// it joined that is still alive: the dispatcher runs the fragment inside that trace's code
    /// when it has no trace of its own, instead of alone.
    /// </summary>
    internal Trace? MemberOf;

    /// <summary>See <see cref="MemberOf"/>.</summary>
    internal int MemberSection;

    internal void JoinTrace(Trace trace, int section)
    {
        (_traces ??= new List<Trace>()).Add(trace);
        if (section > 0) AdoptAsMember(trace, section);
    }

    /// <summary>Makes <paramref name="trace"/> (which already holds this fragment) the one it runs in as block <paramref name="section"/> when the trace it was a member of died, or with <paramref name="force"/> in any case.</summary>
    internal void AdoptAsMember(Trace trace, int section, bool force = false)
    {
        if (!force && MemberOf is { IsValid: true }) return;
        MemberOf = trace;
        MemberSection = section;
    }

    /// <summary>Marks the fragment dead, with every trace it is part of.</summary>
    internal void Invalidate()
    {
        IsValid = false;
        LinkA = LinkB = null;
        Trace = null;
        MemberOf = null;
        if (_traces is null) return;
        foreach (var t in _traces) t.Invalidate();
        _traces = null;
    }

    /// <summary>True when the block's code lies (partly) in physical page <paramref name="page"/>.</summary>
    public bool IsOnPage(ulong page) => FirstPage == page || SecondPage == page;

    /// <summary>True when a write of <paramref name="size"/> bytes at physical <paramref name="address"/> (within one page) modifies the block's code.</summary>
    public bool Overlaps(ulong address, int size)
    {
        ulong end = address + (ulong)size;
        ulong firstEnd = Math.Min(PhysicalAddress + (ulong)Length, FirstPage + 0x1000);
        if (address < firstEnd && PhysicalAddress < end) return true;
        if (SecondPage == NoPage) return false;
        ulong secondEnd = SecondPage + (ulong)Length - (firstEnd - PhysicalAddress);
        return address < secondEnd && SecondPage < end;
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"fragment {Rip:x16} (pa {PhysicalAddress:x}, cpl {Cpl}, {InstructionCount} insns, {Length} bytes{(SpansTwoPages ? $", +pa {SecondPage:x}" : "")})";
}
