using System.Diagnostics;
using System.Text;
using Drk.Dispatcher.Flags;
using Drk.Hv;
using Drk.Hv.Boot;
using Drk.Hv.Cpu;
using Drk.Hv.Devices;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// The run loop: runs a booted <see cref="Machine"/>'s vCPUs round-robin in deterministic quanta
/// of virtual time until the machine stops, keeping the code caches coherent with guest writes,
/// starting application processors, fast-forwarding idle time, and turning every way a run can
/// end into a <see cref="MachineRunResult"/> (a dump instead of a host exception).
/// </summary>
/// <remarks>
/// <para>
/// <b>Scheduling.</b> Time is cut into rounds of <see cref="MachineRunOptions.Quantum"/> ticks.
/// In each round every started vCPU, in index order, runs blocks until its clock
/// (<see cref="VcpuState.Ticks"/>) reaches the round's end. A halted vCPU is woken by a
/// deliverable interrupt; otherwise its clock jumps to its timer deadline inside the round (and
/// it is woken there) or to the round's end. When every vCPU is halted the next round starts at
/// the earliest deadline (HLT fast-forward); when none can ever wake the machine stops with
/// <see cref="MachineStopReason.Deadlock"/>; a vCPU that only takes exceptions, retiring
/// nothing, stops it with <see cref="MachineStopReason.FaultLoop"/>. Everything depends only on retired instructions, so
/// a run is repeatable to the instruction.
/// </para>
/// <para>
/// <b>Code writes.</b> Every page holding translated code is watched. A write to one drops that
/// page's fragments in every vCPU's cache before the write lands; if the write would change the
/// code of the block being executed, the store is cancelled and the writing instruction re-run
/// alone (see <see cref="VcpuDispatcher"/>).
/// </para>
/// <para>
/// <b>Application processors.</b> A STARTUP IPI whose page holds the kernel's trampoline header
/// (<see cref="TrampolineHeader"/>) starts the AP at the header's 64-bit entry with its CR3 and
/// stack, its clock set to the sender's. Without a header the AP stays down (noted in the log).
/// </para>
/// </remarks>
public sealed class MachineRunner
{
    private readonly Machine _machine;
    private readonly MachineRunOptions _options;
    private readonly VcpuDispatcher[] _vcpus;
    private VcpuDispatcher? _current;
    private int _idleRounds;

    /// <summary>Prepares to run <paramref name="machine"/>, which must use <see cref="LazyFlagsAccess"/> (see <see cref="CreateMachine"/>).</summary>
    public MachineRunner(Machine machine, MachineRunOptions? options = null)
    {
        _machine = machine;
        _options = options ?? new MachineRunOptions();
        if (_options.Quantum == 0) throw new ArgumentOutOfRangeException(nameof(options), "the quantum must be at least one tick");
        _vcpus = new VcpuDispatcher[machine.Vcpus.Count];
        for (int i = 0; i < _vcpus.Length; i++)
            _vcpus[i] = new VcpuDispatcher(machine.Vcpus[i], machine.Memory, _options);
        machine.Memory.CodePageWritten += OnCodePageWritten;
        machine.StartupIpi += OnStartupIpi;
    }

    /// <summary>A machine whose RFLAGS view matches the dispatcher's lazy flags.</summary>
    public static Machine CreateMachine(MachineConfig config) => new(config, LazyFlagsAccess.Instance);

    public Machine Machine => _machine;

    public MachineRunOptions Options => _options;

    /// <summary>The last run's time per tier by sampling, when <see cref="MachineRunOptions.SampleTiers"/> asked for it.</summary>
    public TierSampler? TierSamples { get; private set; }

    /// <summary>The per-vCPU dispatchers, by vCPU index.</summary>
    public IReadOnlyList<VcpuDispatcher> Vcpus => _vcpus;

    /// <summary>Instructions retired by all vCPUs so far.</summary>
    public ulong InstructionsRetired
    {
        get
        {
            ulong sum = 0;
            foreach (var d in _vcpus) sum += d.Vcpu.State.InstructionsRetired;
            return sum;
        }
    }

    /// <summary>Instructions retired at CPL 0 by all vCPUs so far.</summary>
    public ulong KernelInstructionsRetired
    {
        get
        {
            ulong sum = 0;
            foreach (var d in _vcpus) sum += d.KernelInstructionsRetired;
            return sum;
        }
    }

    /// <summary>Blocks built by all vCPUs so far.</summary>
    public long BlocksBuilt
    {
        get
        {
            long sum = 0;
            foreach (var d in _vcpus) sum += d.BlocksBuilt;
            return sum;
        }
    }

    /// <summary>Blocks run by all vCPUs so far.</summary>
    public long BlocksRun
    {
        get
        {
            long sum = 0;
            foreach (var d in _vcpus) sum += d.BlocksRun;
            return sum;
        }
    }

    /// <summary>Fragments dropped from all caches so far.</summary>
    public long FragmentsInvalidated
    {
        get
        {
            long sum = 0;
            foreach (var d in _vcpus) sum += d.Cache.Invalidated;
            return sum;
        }
    }

    /// <summary>
    /// Runs until the machine stops: the guest writes to isa-debug-exit, a vCPU triple-faults, the
    /// machine deadlocks, the instruction budget runs out, or the host fails (a Drk bug: the
    /// exception becomes <see cref="MachineStopReason.InternalError"/>). Never throws for anything
    /// the guest does.
    /// </summary>
    public MachineRunResult Run()
    {
        var stop = _machine.Stop;
        ulong retiredBefore = InstructionsRetired;
        ulong kernelBefore = KernelInstructionsRetired;
        long builtBefore = BlocksBuilt;
        long runBefore = BlocksRun;
        long invalidatedBefore = FragmentsInvalidated;
        long started = Stopwatch.GetTimestamp();
        Exception? error = null;
        var sampler = _options.SampleTiers ? new TierSampler(() => Volatile.Read(ref _current)) : null;
        try
        {
            _options.Tools?.Start();
            Loop();
        }
        catch (Exception e)
        {
            error = e;
            stop.Request(MachineStopReason.InternalError, 0,
                $"internal error: {e.GetType().Name}: {e.Message} (at {e.TargetSite?.DeclaringType?.Name}.{e.TargetSite?.Name})");
        }
        finally
        {
            _current = null;
            sampler?.Dispose();
            if (sampler is not null) TierSamples = sampler;
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        string detail = stop.Detail;
        int newline = detail.IndexOf('\n');
        var result = new MachineRunResult
        {
            Reason = stop.Reason,
            ExitStatus = stop.ExitStatus,
            Summary = newline < 0 ? detail : detail[..newline],
            Dump = stop.Reason == MachineStopReason.DebugExit ? "" : FormatDump(),
            InstructionsRetired = InstructionsRetired - retiredBefore,
            KernelInstructionsRetired = KernelInstructionsRetired - kernelBefore,
            BlocksBuilt = BlocksBuilt - builtBefore,
            BlocksRun = BlocksRun - runBefore,
            FragmentsInvalidated = FragmentsInvalidated - invalidatedBefore,
            Elapsed = elapsed,
            Error = error,
        };
        _options.Tools?.Stop(result);
        return result;
    }

    private void Loop()
    {
        var stop = _machine.Stop;
        ulong quantum = _options.Quantum;
        ulong roundEnd = LatestClock() + quantum;
        while (!stop.IsRequested)
        {
            ulong retiredBefore = InstructionsRetired;
            for (int i = 0; i < _vcpus.Length && !stop.IsRequested; i++)
            {
                var d = _vcpus[i];
                if (d.Vcpu.WaitingForStartup) continue;
                RunUntil(d, roundEnd);
            }
            if (stop.IsRequested) break;
            roundEnd = NextRoundEnd(roundEnd, quantum, InstructionsRetired != retiredBefore);
        }
    }

    /// <summary>Where the next round ends; stops the machine when no vCPU can ever run again.</summary>
    private ulong NextRoundEnd(ulong roundEnd, ulong quantum, bool progressed)
    {
        if (!AllStartedHalted())
        {
            _idleRounds = 0;
            return roundEnd + quantum;
        }
        if (_machine.IsDeadlocked)
        {
            StopDeadlocked("every vCPU is halted and nothing can wake it (no timer armed, interrupts masked or no IPI to come)");
            return roundEnd;
        }
        _idleRounds = progressed ? 0 : _idleRounds + 1;
        if (_idleRounds >= _options.IdleRoundsBeforeDeadlock)
        {
            StopDeadlocked($"every vCPU stayed halted for {_idleRounds} rounds although a timer is armed (its interrupt cannot be taken)");
            return roundEnd;
        }
        // HLT fast-forward: nothing happens before the earliest deadline, so the next round ends there.
        ulong earliest = ulong.MaxValue;
        foreach (var d in _vcpus)
            if (!d.Vcpu.WaitingForStartup) earliest = Math.Min(earliest, d.Vcpu.NextDeadline);
        return earliest != ulong.MaxValue && earliest > roundEnd + quantum ? earliest : roundEnd + quantum;
    }

    /// <summary>Runs <paramref name="d"/> until its clock reaches <paramref name="target"/>, it stops, or the budget runs out.</summary>
    private void RunUntil(VcpuDispatcher d, ulong target)
    {
        var vcpu = d.Vcpu;
        var state = vcpu.State;
        var sys = state.Sys;
        var stop = _machine.Stop;
        ulong total = InstructionsRetired;
        if (total >= _options.MaxInstructions)
        {
            StopBudget();
            return;
        }
        ulong limit = state.InstructionsRetired + (_options.MaxInstructions - total);
        _current = d;
        while (state.Ticks < target)
        {
            if (sys.Halted)
            {
                if (Idle(vcpu, target)) continue;
                break;
            }
            d.Run(target, limit, _options.MaxStalledBlocks, stop);
            if (stop.IsRequested || vcpu.WaitingForStartup) break;
            if (state.InstructionsRetired >= limit)
            {
                StopBudget();
                break;
            }
            if (d.StalledBlocks >= _options.MaxStalledBlocks)
            {
                stop.Request(MachineStopReason.FaultLoop, 0,
                    $"fault loop: vCPU {vcpu.Index} took {d.StalledBlocks} exceptions in a row without retiring an instruction (rip={state.Rip:x16})");
                break;
            }
        }
        _current = null;
    }

    /// <summary>
    /// A halted vCPU's time until <paramref name="target"/>: true when it woke up (an interrupt was
    /// delivered) and runs again; false when it sleeps through to the end of the round.
    /// </summary>
    private static bool Idle(Vcpu vcpu, ulong target)
    {
        if (vcpu.TryWake()) return true;
        var state = vcpu.State;
        ulong deadline = vcpu.NextDeadline;
        if (deadline < target)
        {
            vcpu.FastForwardToDeadline();
            if (vcpu.TryWake()) return true;
        }
        if (state.Ticks < target) vcpu.AdvanceIdle(target - state.Ticks);
        return false;
    }

    private bool AllStartedHalted()
    {
        foreach (var d in _vcpus)
            if (!d.Vcpu.WaitingForStartup && !d.Vcpu.State.Sys.Halted) return false;
        return true;
    }

    private ulong LatestClock()
    {
        ulong latest = 0;
        foreach (var d in _vcpus)
            if (!d.Vcpu.WaitingForStartup) latest = Math.Max(latest, d.Vcpu.State.Ticks);
        return latest;
    }

    private void StopBudget() =>
        _machine.Stop.Request(MachineStopReason.Budget, 0,
            $"instruction budget exhausted: {InstructionsRetired} instructions retired (--max-instructions {_options.MaxInstructions})");

    private void StopDeadlocked(string why) => _machine.Stop.Request(MachineStopReason.Deadlock, 0, $"deadlock: {why}");

    // ---- events from the machine -------------------------------------------------------------

    /// <summary>A write is about to modify a page holding translated code.</summary>
    private void OnCodePageWritten(in CodePageWrite write)
    {
        ulong page = write.Page;
        foreach (var d in _vcpus) d.Cache.InvalidatePage(page);
        var current = _current;
        var executing = current?.Executing;
        if (executing is null || !executing.IsOnPage(page))
        {
            // Nothing translated from the page is left: later writes to it may run at full speed.
            _machine.Memory.UnwatchCodePage(page);
            return;
        }
        // The executing block lives on this page (the page stays watched until it ends). If the
        // write changes the block's own code after the writing instruction, the rest of the block
        // is stale: cancel the store and re-run the instruction alone. A block of one instruction
        // has nothing after it, which also ends the restart.
        if (ReferenceEquals(write.Writer, current!.Vcpu.State) && executing.InstructionCount > 1
            && executing.Overlaps(write.PhysicalAddress, write.Size) && current.Vcpu.Mmu.CancelPendingWrite())
            current.RequestRestart();
    }

    /// <summary>INIT or STARTUP reached a vCPU (INIT has already reset it).</summary>
    private void OnStartupIpi(Vcpu target, InterProcessorInterrupt ipi)
    {
        if (ipi.DeliveryMode != IpiDeliveryMode.Startup || !target.WaitingForStartup) return;
        ulong page = (ulong)ipi.Vector << 12;
        if (!TrampolineHeader.TryRead(_machine.Memory, page, out var header))
        {
            _machine.Log.Note("STARTUP IPI without a DRKSMPv1 trampoline header (the AP stays down)", page, $"vCPU {target.Index}");
            return;
        }
        LongModeEntry.Apply(target, header.Entry64, 0, header.Cr3);
        target.State.Slots[GuestReg.Rsp] = header.StackTop;
        // The AP's clock starts where the sender's is, so the two stay within a quantum.
        ulong now = _current?.Vcpu.State.Ticks ?? LatestClock();
        var clock = target.State;
        if (now > clock.Ticks) clock.IdleTicks += now - clock.Ticks;
    }

    // ---- the dump ----------------------------------------------------------------------------

    /// <summary>The stop's account, then each vCPU's state and last blocks.</summary>
    public string FormatDump()
    {
        var stop = _machine.Stop;
        var b = new StringBuilder();
        b.Append("machine stopped: ").Append(MachineRunResult.NameOf(stop.Reason)).Append('\n');
        if (stop.Detail.Length > 0) b.Append(stop.Detail.TrimEnd('\n')).Append('\n');
        foreach (var d in _vcpus)
        {
            var vcpu = d.Vcpu;
            string status = vcpu.WaitingForStartup ? "waiting for STARTUP" : vcpu.State.Sys.Halted ? "halted" : "running";
            b.Append($"--- vCPU {vcpu.Index} ({status}), {d.BlocksBuilt} blocks built, {d.Cache.Count} cached\n");
            if (vcpu.WaitingForStartup && d.Recent.Count == 0) continue;
            b.Append(SafeStateDump(vcpu.State)).Append('\n');
            b.Append($"last {Math.Min(d.Recent.Count, _options.RecentBlockCount)} blocks, oldest first (start rip, instructions retired, end):\n");
            b.Append(d.Recent.Format());
        }
        return b.ToString();
    }

    /// <summary>The registers; a state too broken to format (a bad flag thunk after a host error) still gives what it can.</summary>
    private static string SafeStateDump(VcpuState state)
    {
        try { return VcpuStateDump.Format(state, LazyFlagsAccess.Instance); }
        catch (Exception)
        {
            try { return VcpuStateDump.Format(state); }
            catch (Exception e) { return $"(registers cannot be formatted: {e.GetType().Name}: {e.Message})"; }
        }
    }
}
