using Drk.Hv.Cpu;
using Drk.Hv.Devices;
using Drk.Hv.Memory;

namespace Drk.Hv;

/// <summary>
/// A whole virtual machine: guest RAM, the vCPUs with their MMUs and local APICs, the I/O port
/// space with COM1, the legacy PICs and isa-debug-exit, and the stop request.
/// </summary>
/// <remarks>
/// The machine owns no run loop: the dispatcher runs blocks on each <see cref="Vcpu"/> (see its
/// remarks), polls <see cref="Stop"/>, and boots it with <c>Boot.PvhBootLoader</c>. The machine
/// routes IPIs between local APICs; INIT and STARTUP IPIs are reported through
/// <see cref="StartupIpi"/> because starting an AP is the run loop's business.
/// </remarks>
public sealed class Machine : IApicBus, IDisposable
{
    private readonly Vcpu[] _vcpus;

    /// <param name="flags">The dispatcher's RFLAGS access (reads the lazy flag thunk).</param>
    public Machine(MachineConfig config, IFlagsAccess flags)
    {
        if (config.CpuCount < 1 || config.CpuCount > 254)
            throw new ArgumentOutOfRangeException(nameof(config), $"CPU count {config.CpuCount} must be between 1 and 254");
        Config = config;
        Log = new UnhandledAccessLog(config.DiagnosticLog);
        Memory = new PhysicalMemory(config.RamSize, Log);
        Ports = new IoPortBus(Log);
        Serial = new Uart16550(config.SerialOutput, config.SerialInput);
        Serial.Attach(Ports);
        Pic = new LegacyPic();
        Pic.Attach(Ports);
        DebugExit = new IsaDebugExit(Stop);
        Ports.Register(IsaDebugExit.DefaultPort, IsaDebugExit.PortCount, DebugExit);
        _vcpus = new Vcpu[config.CpuCount];
        for (int i = 0; i < _vcpus.Length; i++)
            _vcpus[i] = new Vcpu(i, Memory, flags, this, Ports, Stop, Cpuid, Log);
    }

    public MachineConfig Config { get; }
    public PhysicalMemory Memory { get; }
    public IoPortBus Ports { get; }
    public UnhandledAccessLog Log { get; }
    public MachineStop Stop { get; } = new();
    public Uart16550 Serial { get; }
    public LegacyPic Pic { get; }
    public IsaDebugExit DebugExit { get; }
    /// <summary>CPUID as every vCPU reports it; extend with <see cref="CpuidTable.Set"/> before running.</summary>
    public CpuidTable Cpuid { get; } = CpuidTable.CreateDefault();
    public IReadOnlyList<Vcpu> Vcpus => _vcpus;

    /// <summary>
    /// An INIT or STARTUP IPI reached a vCPU. INIT has already reset the target
    /// (<see cref="Vcpu.Init"/>); for STARTUP the handler, when the target is
    /// <see cref="Vcpu.WaitingForStartup"/>, sets up its state (start page = vector * 0x1000) and
    /// clears the flag.
    /// </summary>
    public event Action<Vcpu, InterProcessorInterrupt>? StartupIpi;

    /// <summary>
    /// True when no vCPU can ever run again: every started vCPU is halted with no timer deadline
    /// and nothing deliverable (the run loop then stops with <see cref="MachineStopReason.Deadlock"/>).
    /// </summary>
    public bool IsDeadlocked
    {
        get
        {
            foreach (var v in _vcpus)
            {
                if (v.WaitingForStartup) continue;
                if (!v.State.Sys.Halted || v.NextDeadline != ulong.MaxValue) return false;
                if (v.Apic.NmiPending || (v.CanTakeInterrupt && v.Apic.PendingVector() >= 0)) return false;
            }
            return true;
        }
    }

    /// <inheritdoc />
    void IApicBus.Send(in InterProcessorInterrupt ipi)
    {
        foreach (var target in _vcpus)
        {
            bool self = target.Apic.Id == ipi.SourceApicId;
            bool addressed = ipi.Shorthand switch
            {
                IpiShorthand.Self => self,
                IpiShorthand.AllIncludingSelf => true,
                IpiShorthand.AllExcludingSelf => !self,
                _ => target.Apic.MatchesDestination(ipi.LogicalDestination, ipi.Destination),
            };
            if (!addressed) continue;
            switch (ipi.DeliveryMode)
            {
                case IpiDeliveryMode.Fixed:
                case IpiDeliveryMode.LowestPriority:
                    target.Apic.Accept(ipi.Vector);
                    break;
                case IpiDeliveryMode.Nmi:
                    target.Apic.NmiPending = true;
                    break;
                case IpiDeliveryMode.Init:
                    // INIT level de-assert is a no-op on every processor since the Pentium 4.
                    if (!ipi.Assert && ipi.LevelTriggered) break;
                    target.Init();
                    StartupIpi?.Invoke(target, ipi);
                    break;
                case IpiDeliveryMode.Startup:
                    if (target.WaitingForStartup) StartupIpi?.Invoke(target, ipi);
                    break;
                default:
                    Log.Note("IPI delivery mode", (ulong)ipi.DeliveryMode);
                    break;
            }
        }
    }

    /// <summary>Flushes the serial output and frees guest RAM.</summary>
    public void Dispose()
    {
        Serial.Flush();
        Memory.Dispose();
    }
}
