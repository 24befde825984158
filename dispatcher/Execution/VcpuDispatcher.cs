using Drk.Dispatcher.Decoding;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Lowering;
using Drk.Dispatcher.Optimization;
using Drk.Hv;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// One vCPU's share of the dispatcher: runs the guest block at RIP from its private code cache
/// (decoding, lowering and optimising it on a miss), then does what the block's end asks:
/// exceptions and INT n go through the IDT, and pending interrupts are taken at the boundary.
/// </summary>
/// <remarks>
/// <para>
/// Fragments are keyed by (RIP, physical address of the first byte, CPL) and every physical page
/// they come from is write-watched; <see cref="MachineRunner"/> drops a page's fragments when it
/// is written. A block that writes its own code is stopped before that store lands and the
/// writing instruction is re-run alone (<see cref="RequestRestart"/>), so no stale instruction
/// runs after it: the rest of the block is decoded afresh.
/// </para>
/// <para>Not thread-safe: one per vCPU, run by one thread at a time.</para>
/// </remarks>
public sealed class VcpuDispatcher
{
    private const ulong PageMask = ~0xFFFUL;

    private readonly Vcpu _vcpu;
    private readonly VcpuState _state;
    private readonly Mmu _mmu;
    private readonly PhysicalMemory _physical;
    private readonly BlockDecoder _decoder;
    private readonly Lowerer _lowerer = new();
    private readonly Optimizer _optimizer = new();
    private readonly IrInterpreter _interpreter;
    private readonly JitTier? _jit;
    private readonly bool _optimize;
    private readonly bool _verify;
    private bool _restartRequested;
    private bool _runNextAlone;

    /// <summary>Creates the dispatcher of <paramref name="vcpu"/>, whose RAM is <paramref name="physical"/>.</summary>
    public VcpuDispatcher(Vcpu vcpu, PhysicalMemory physical, MachineRunOptions options)
    {
        _vcpu = vcpu;
        _state = vcpu.State;
        _mmu = vcpu.Mmu;
        _physical = physical;
        _decoder = new BlockDecoder(_mmu);
        _interpreter = new IrInterpreter(_mmu, vcpu.System);
        _jit = JitTier.For(options.Tier, new JitRuntime(_interpreter, _mmu, vcpu.System));
        _optimize = options.Optimize;
        _verify = options.VerifyIr;
        Recent = new RecentBlocks(options.RecentBlockCount);
    }

    public Vcpu Vcpu => _vcpu;

    /// <summary>This vCPU's fragments.</summary>
    public FragmentCache Cache { get; } = new();

    /// <summary>The last blocks this vCPU ran, for dumps.</summary>
    public RecentBlocks Recent { get; }

    /// <summary>The interpreter (tier 0), for registering tool callbacks.</summary>
    public IrInterpreter Interpreter => _interpreter;

    /// <summary>The JIT tier (tier 1) and its statistics when <see cref="MachineRunOptions.Tier"/> asks for it; it shares the interpreter's tool callbacks.</summary>
    public JitTier? Jit => _jit;

    /// <summary>The fragment being interpreted right now, or null between blocks.</summary>
    public Fragment? Executing { get; private set; }

    /// <summary>Blocks decoded and lowered (cache misses, and instructions re-run alone).</summary>
    public long BlocksBuilt { get; private set; }

    /// <summary>Blocks run (or whose first fetch faulted) so far.</summary>
    public long BlocksRun => Recent.Count;

    /// <summary>Blocks in a row, up to now, that retired nothing (they faulted on their first instruction, or could not be fetched).</summary>
    public int StalledBlocks { get; private set; }

    /// <summary>Times a block was stopped because it wrote its own code.</summary>
    public long SelfModifyingRestarts { get; private set; }

    /// <summary>
    /// Called (from the code-write handler) when the executing block's store was cancelled because
    /// it would modify the block's own code: the block ends there as if that instruction faulted,
    /// and the instruction then runs as a block of its own.
    /// </summary>
    public void RequestRestart() => _restartRequested = true;

    /// <summary>
    /// Runs one block at the current RIP and retires it (the interpreter adds to the clock), or
    /// delivers the fault that prevents it; then delivers a pending interrupt if one may be taken.
    /// </summary>
    public void RunBlock()
    {
        var state = _state;
        ulong rip = state.Rip;
        GuestFault fault;
        Fragment? fragment;
        if (_runNextAlone)
        {
            _runNextAlone = false;
            fragment = Translate(rip, out ulong physical, out fault) ? Build(rip, physical, 1, false, out fault) : null;
        }
        else
        {
            fragment = Find(rip, out fault);
        }
        if (fragment is null)
        {
            Recent.RecordFetchFault(rip);
            StalledBlocks++;
            fault.Rip = rip;
            _vcpu.DeliverFault(fault);
            PollInterrupts();
            return;
        }

        // The shadow of STI / MOV SS covers one instruction: the first of this block, and those end
        // their blocks, so no interrupt can come in between. Set again by this block, it survives.
        state.Sys.InterruptShadow = false;
        Executing = fragment;
        var result = _jit is null ? _interpreter.Execute(fragment.Block, state) : _jit.Execute(fragment.Block, state, _interpreter);
        Executing = null;
        Recent.Record(rip, result.Retired, result.End);
        StalledBlocks = result.Retired == 0 ? StalledBlocks + 1 : 0;
        switch (result.End)
        {
            case BlockEnd.Fault:
                if (_restartRequested)
                {
                    SelfModifyingRestarts++;
                    _runNextAlone = true;
                }
                else
                {
                    _vcpu.DeliverFault(result.Fault);
                }
                break;
            case BlockEnd.SoftInt:
                // Delivery wants the INT's own RIP in the state (the frame gets the return address).
                state.Rip = fragment.Block.Instructions[result.Retired - 1].Rip;
                _vcpu.DeliverSoftwareInterrupt((byte)result.Fault.Vector, result.Fault.Rip);
                break;
        }
        _restartRequested = false;
        PollInterrupts();
    }

    /// <summary>Forgets every fragment of this vCPU.</summary>
    public void Flush() => Cache.Clear();

    private void PollInterrupts()
    {
        if (_vcpu.Apic.MayHaveInterrupt) _vcpu.TryDeliverInterrupt();
    }

    private bool Translate(ulong rip, out ulong physical, out GuestFault fault) =>
        _mmu.Translate(rip, AccessKind.Execute, out physical, out fault);

    /// <summary>The valid fragment for RIP under the current page tables and CPL, built on a miss; null with the fetch fault.</summary>
    private Fragment? Find(ulong rip, out GuestFault fault)
    {
        if (!Translate(rip, out ulong physical, out fault)) return null;
        var fragment = Cache.Lookup(rip, physical, _state.Cpl);
        if (fragment is not null && (!fragment.SpansTwoPages || SecondPageUnchanged(fragment))) return fragment;
        return Build(rip, physical, BlockDecoder.MaxInstructions, true, out fault);
    }

    /// <summary>The page a fragment continues on may be remapped on its own: the fragment holds only if it still translates to the same physical page.</summary>
    private bool SecondPageUnchanged(Fragment fragment) =>
        Translate(fragment.SecondLinearPage, out ulong second, out _) && (second & PageMask) == fragment.SecondPage;

    private Fragment? Build(ulong rip, ulong physical, int maxInstructions, bool cache, out GuestFault fault)
    {
        if (!_decoder.TryDecode(rip, out var instructions, out fault, maxInstructions)) return null;
        int cpl = _state.Cpl;
        var block = _lowerer.Lower(instructions, cpl);
        if (_verify) IrVerifier.ThrowIfInvalid(block, "lowering");
        if (_optimize)
        {
            _optimizer.Optimize(block);
            if (_verify) IrVerifier.ThrowIfInvalid(block, "optimisation");
        }
        BlocksBuilt++;

        ulong secondPage = Fragment.NoPage, secondLinear = Fragment.NoPage;
        ulong lastLinear = (instructions[^1].NextRip - 1) & PageMask;
        bool cacheable = cache && IsPlainRam(physical);
        if (lastLinear != (rip & PageMask))
        {
            // The decoder fetched these bytes a moment ago, so the page translates; if it somehow
            // does not, the fragment is run once and not kept.
            if (Translate(lastLinear, out ulong second, out _) && IsPlainRam(second))
            {
                secondPage = second & PageMask;
                secondLinear = lastLinear;
            }
            else
            {
                cacheable = false;
            }
        }
        var fragment = new Fragment(block, physical, cpl, secondPage, secondLinear);
        if (cacheable)
        {
            Cache.Add(fragment);
            // Watch before the fragment runs: a store by its own first instruction must be seen.
            _physical.WatchCodePage(physical);
            if (secondPage != Fragment.NoPage) _physical.WatchCodePage(secondPage);
        }
        return fragment;
    }

    /// <summary>Only RAM can be watched; code fetched from MMIO or unbacked addresses is never cached.</summary>
    private bool IsPlainRam(ulong physical) => _physical.IsRam(physical, 1) && !_physical.IsMmio(physical);
}
