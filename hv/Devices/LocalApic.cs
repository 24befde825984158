using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Hv.Devices;

/// <summary>
/// A vCPU's local APIC in xAPIC mode (MMIO page at APIC_BASE, 0xFEE00000 by default): ID,
/// version, TPR/PPR, EOI, SVR, IRR/ISR, ESR, the ICR for IPIs, the LVT, and the timer in
/// one-shot and periodic modes on the vCPU's virtual clock.
/// </summary>
/// <remarks>
/// <para>
/// <b>Time.</b> The timer counts at one count per virtual tick (<see cref="VcpuState.Ticks"/>)
/// divided by the divide configuration, i.e. a 1 GHz bus clock (docs/cpuid.md). Nothing runs in
/// the background: the timer's state is computed from the clock when the guest reads it or the
/// run loop polls (<see cref="PollTimer"/>). <see cref="NextTimerDeadline"/> is the tick at which
/// the next timer interrupt will be raised, for HLT fast-forward. A periodic timer that expired
/// several times between polls raises one interrupt (as interrupts coalesce in IRR anyway) and
/// keeps its phase.
/// </para>
/// <para>
/// <b>Interrupts.</b> Fixed interrupts land in IRR; <see cref="TryAcknowledge"/> moves the highest
/// one whose priority class beats PPR into ISR, as the CPU's INTA cycle does. EOI retires the
/// highest ISR bit. The APIC accepts nothing while software-disabled (SVR bit 8 clear).
/// IPIs written to the ICR go to the <see cref="IApicBus"/>; delivery status always reads idle.
/// Unaligned or non-32-bit accesses read the containing register's bytes and are ignored on write.
/// </para>
/// </remarks>
public sealed class LocalApic : IMmioDevice
{
    public const ulong DefaultBase = 0xFEE0_0000;
    public const ulong MmioLength = 0x1000;
    /// <summary>Version register: version 0x14 (integrated xAPIC), 6 LVT entries (max LVT index 5).</summary>
    public const uint VersionValue = 0x0005_0014;

    public const int RegId = 0x20, RegVersion = 0x30, RegTpr = 0x80, RegApr = 0x90, RegPpr = 0xA0, RegEoi = 0xB0,
        RegRrd = 0xC0, RegLdr = 0xD0, RegDfr = 0xE0, RegSvr = 0xF0, RegIsr = 0x100, RegTmr = 0x180, RegIrr = 0x200,
        RegEsr = 0x280, RegLvtCmci = 0x2F0, RegIcrLow = 0x300, RegIcrHigh = 0x310, RegLvtTimer = 0x320,
        RegLvtThermal = 0x330, RegLvtPerf = 0x340, RegLvtLint0 = 0x350, RegLvtLint1 = 0x360, RegLvtError = 0x370,
        RegTimerInitial = 0x380, RegTimerCurrent = 0x390, RegTimerDivide = 0x3E0;

    public const uint LvtMasked = 1u << 16;
    public const uint LvtTimerPeriodic = 1u << 17;
    public const uint SvrEnable = 1u << 8;
    private const uint LvtTimerWritable = 0xFF | LvtMasked | (3u << 17);
    private const uint LvtOtherWritable = 0xFF | (7u << 8) | (1u << 13) | (1u << 15) | LvtMasked;
    private const uint EsrReceiveIllegalVector = 1u << 6, EsrSendIllegalVector = 1u << 5;

    private readonly VcpuState _clock;
    private readonly IApicBus? _bus;
    private readonly uint[] _irr = new uint[8];
    private readonly uint[] _isr = new uint[8];
    private int _irrCount;
    private uint _tpr, _ldr, _dfr, _svr, _esr, _esrPending, _icrLow, _icrHigh;
    private uint _lvtTimer, _lvtThermal, _lvtPerf, _lvtLint0, _lvtLint1, _lvtError, _lvtCmci;
    private uint _initialCount, _divideConfig;
    private ulong _periodStart;
    private ulong _expiry = ulong.MaxValue;

    // The clock value from which MayHaveInterrupt holds: 0 while an IRR bit or an NMI waits, else
    // the timer's expiry. Kept up to date by every change of those three, so that the poll at a
    // block boundary is one comparison (the dispatcher's compiled traces read this field inline).
    private ulong _pollAt = ulong.MaxValue;

    /// <param name="apicId">The APIC ID (the vCPU index).</param>
    /// <param name="clock">The vCPU whose <see cref="VcpuState.Ticks"/> drives the timer.</param>
    /// <param name="bus">Where ICR writes send IPIs; null drops them.</param>
    public LocalApic(byte apicId, VcpuState clock, IApicBus? bus = null)
    {
        Id = apicId;
        _clock = clock;
        _bus = bus;
        Reset();
    }

    /// <summary>The APIC ID (ID register bits 31:24).</summary>
    public byte Id { get; private set; }

    /// <summary>An NMI arrived (through an IPI) and waits for delivery.</summary>
    public bool NmiPending
    {
        get => _nmiPending;
        set
        {
            _nmiPending = value;
            UpdatePollAt();
        }
    }

    // Part of the poll point (_pollAt), which is what block boundaries read.
    private bool _nmiPending;

    /// <summary>The task-priority register (bits 7:0); CR8 is TPR[7:4].</summary>
    public byte Tpr
    {
        get => (byte)_tpr;
        set => _tpr = value;
    }

    /// <summary>SVR bit 8: the APIC is software-enabled.</summary>
    public bool SoftwareEnabled => (_svr & SvrEnable) != 0;

    /// <summary>Puts every register in its power-up/INIT state (the ID is kept).</summary>
    public void Reset()
    {
        Array.Clear(_irr);
        Array.Clear(_isr);
        _irrCount = 0;
        _tpr = _ldr = _esr = _esrPending = _icrLow = _icrHigh = 0;
        _dfr = 0xFFFF_FFFF;
        _svr = 0xFF;
        _lvtTimer = _lvtThermal = _lvtPerf = _lvtLint0 = _lvtLint1 = _lvtError = _lvtCmci = LvtMasked;
        _initialCount = _divideConfig = 0;
        _expiry = ulong.MaxValue;
        NmiPending = false; // last: its setter brings the poll point up to date with all of the above
    }

    private void UpdatePollAt() => _pollAt = _irrCount != 0 || _nmiPending ? 0 : _expiry;

    // ---- timer -------------------------------------------------------------------------------

    /// <summary>Timer ticks per count for the current divide configuration (1 .. 128).</summary>
    public ulong TimerDivisor
    {
        get
        {
            uint v = ((_divideConfig >> 1) & 4) | (_divideConfig & 3);
            return v == 7 ? 1UL : 2UL << (int)v;
        }
    }

    private bool TimerPeriodic => (_lvtTimer & LvtTimerPeriodic) != 0;

    /// <summary>
    /// The virtual tick at which the timer will next raise an interrupt, or <see cref="ulong.MaxValue"/>
    /// when it will not (stopped, masked, or the APIC disabled). HLT fast-forward jumps here.
    /// </summary>
    public ulong NextTimerDeadline =>
        (_lvtTimer & LvtMasked) != 0 || !SoftwareEnabled ? ulong.MaxValue : _expiry;

    /// <summary>Raises the timer interrupt if the clock has reached the expiry; re-arms a periodic timer.</summary>
    public void PollTimer()
    {
        ulong now = _clock.Ticks;
        if (now < _expiry) return;
        if ((_lvtTimer & LvtMasked) == 0 && SoftwareEnabled) Accept((byte)_lvtTimer);
        if (TimerPeriodic)
        {
            ulong period = _initialCount * TimerDivisor;
            ulong periods = (now - _expiry) / period + 1;
            _periodStart = _expiry + (periods - 1) * period;
            _expiry = _periodStart + period;
        }
        else
        {
            _expiry = ulong.MaxValue;
        }
        UpdatePollAt();
    }

    private uint CurrentCount()
    {
        PollTimer();
        if (_expiry == ulong.MaxValue) return 0;
        ulong remaining = (_expiry - _clock.Ticks + TimerDivisor - 1) / TimerDivisor;
        return (uint)Math.Min(remaining, _initialCount);
    }

    private void StartTimer(uint initial)
    {
        _initialCount = initial;
        _expiry = ulong.MaxValue;
        if (initial != 0)
        {
            _periodStart = _clock.Ticks;
            _expiry = _periodStart + initial * TimerDivisor;
        }
        UpdatePollAt();
    }

    private void SetDivide(uint value)
    {
        uint remaining = CurrentCount();
        _divideConfig = value & 0xB;
        // The count in progress continues at the new rate.
        if (_expiry != ulong.MaxValue)
        {
            ulong now = _clock.Ticks;
            _expiry = now + remaining * TimerDivisor;
            _periodStart = now - (_initialCount - remaining) * TimerDivisor;
            UpdatePollAt();
        }
    }

    // ---- interrupt acceptance ----------------------------------------------------------------

    /// <summary>Latches fixed interrupt <paramref name="vector"/> in IRR (vectors below 16 are illegal and set ESR).</summary>
    public void Accept(byte vector)
    {
        if (vector < 16)
        {
            _esrPending |= EsrReceiveIllegalVector;
            return;
        }
        ref uint word = ref _irr[vector >> 5];
        uint bit = 1u << (vector & 31);
        if ((word & bit) != 0) return;
        word |= bit;
        _irrCount++;
        _pollAt = 0;
    }

    /// <summary>
    /// Cheap test for the run loop's block-boundary poll: false means no interrupt, NMI or timer
    /// expiry can be pending; true means call <see cref="TryAcknowledge"/> (which may still find nothing).
    /// </summary>
    public bool MayHaveInterrupt => _clock.Ticks >= _pollAt;

    private static int Highest(uint[] bits)
    {
        for (int i = 7; i >= 0; i--)
            if (bits[i] != 0) return i * 32 + 31 - System.Numerics.BitOperations.LeadingZeroCount(bits[i]);
        return -1;
    }

    /// <summary>Processor priority: the higher of TPR and the class of the highest in-service vector.</summary>
    public uint Ppr
    {
        get
        {
            int isrv = Highest(_isr);
            uint isrClass = isrv < 0 ? 0 : (uint)isrv & 0xF0;
            return (_tpr & 0xF0) >= isrClass ? _tpr & 0xFF : isrClass;
        }
    }

    /// <summary>The highest requested vector that PPR lets through, without acknowledging it; -1 if none.</summary>
    public int PendingVector()
    {
        PollTimer();
        if (_irrCount == 0 || !SoftwareEnabled) return -1;
        int irrv = Highest(_irr);
        return ((uint)irrv & 0xF0) > (Ppr & 0xF0) ? irrv : -1;
    }

    /// <summary>Acknowledges the highest deliverable interrupt: IRR to ISR. The caller delivers it.</summary>
    public bool TryAcknowledge(out byte vector)
    {
        int v = PendingVector();
        if (v < 0)
        {
            vector = 0;
            return false;
        }
        vector = (byte)v;
        _irr[v >> 5] &= ~(1u << (v & 31));
        _irrCount--;
        UpdatePollAt();
        _isr[v >> 5] |= 1u << (v & 31);
        return true;
    }

    /// <summary>True when <paramref name="vector"/> is requested (IRR).</summary>
    public bool IsRequested(byte vector) => (_irr[vector >> 5] & (1u << (vector & 31))) != 0;

    /// <summary>True when <paramref name="vector"/> is in service (ISR).</summary>
    public bool IsInService(byte vector) => (_isr[vector >> 5] & (1u << (vector & 31))) != 0;

    private void Eoi()
    {
        int v = Highest(_isr);
        if (v >= 0) _isr[v >> 5] &= ~(1u << (v & 31));
    }

    /// <summary>True when a message with this destination addresses this APIC (no shorthand).</summary>
    public bool MatchesDestination(bool logical, byte destination)
    {
        if (!logical) return destination == 0xFF || destination == Id;
        // Flat model only: the cluster model is treated as flat.
        return ((_ldr >> 24) & destination) != 0;
    }

    // ---- MMIO --------------------------------------------------------------------------------

    /// <inheritdoc />
    public ulong Read(ulong offset, int size)
    {
        ulong aligned = offset & ~0xFUL;
        uint reg = ReadRegister((int)aligned);
        int shift = (int)(offset & 0xF);
        if (shift >= 4) return 0;
        ulong value = reg >> (8 * shift);
        return size >= 4 ? value : value & ((1UL << (8 * size)) - 1);
    }

    /// <inheritdoc />
    public void Write(ulong offset, int size, ulong value)
    {
        if ((offset & 0xF) != 0 || size < 4) return;
        WriteRegister((int)offset, (uint)value);
    }

    private uint ReadRegister(int reg)
    {
        switch (reg)
        {
            case RegId: return (uint)Id << 24;
            case RegVersion: return VersionValue;
            case RegTpr: return _tpr;
            case RegApr: return 0;
            case RegPpr: return Ppr;
            case RegLdr: return _ldr;
            case RegDfr: return _dfr;
            case RegSvr: return _svr;
            case RegEsr: return _esr;
            case RegLvtCmci: return _lvtCmci;
            case RegIcrLow: return _icrLow & ~(1u << 12);
            case RegIcrHigh: return _icrHigh;
            case RegLvtTimer: return _lvtTimer;
            case RegLvtThermal: return _lvtThermal;
            case RegLvtPerf: return _lvtPerf;
            case RegLvtLint0: return _lvtLint0;
            case RegLvtLint1: return _lvtLint1;
            case RegLvtError: return _lvtError;
            case RegTimerInitial: return _initialCount;
            case RegTimerCurrent: return CurrentCount();
            case RegTimerDivide: return _divideConfig;
        }
        if (reg >= RegIsr && reg < RegIsr + 0x80) return _isr[(reg - RegIsr) >> 4];
        if (reg >= RegIrr && reg < RegIrr + 0x80)
        {
            PollTimer();
            return _irr[(reg - RegIrr) >> 4];
        }
        return 0; // TMR (edge-triggered only), EOI, RRD and reserved offsets
    }

    private void WriteRegister(int reg, uint value)
    {
        uint lvtMask = SoftwareEnabled ? 0 : LvtMasked;
        switch (reg)
        {
            case RegId: Id = (byte)(value >> 24); break;
            case RegTpr: _tpr = value & 0xFF; break;
            case RegEoi: Eoi(); break;
            case RegLdr: _ldr = value & 0xFF00_0000; break;
            case RegDfr: _dfr = value | 0x0FFF_FFFF; break;
            case RegSvr:
                _svr = value & (0xFF | SvrEnable | (1u << 9) | (1u << 12));
                if (!SoftwareEnabled) MaskAllLvt();
                break;
            case RegEsr:
                _esr = _esrPending;
                _esrPending = 0;
                break;
            case RegLvtCmci: _lvtCmci = (value & LvtOtherWritable) | lvtMask; break;
            case RegIcrHigh: _icrHigh = value & 0xFF00_0000; break;
            case RegIcrLow:
                _icrLow = value & 0x000C_CFFF;
                SendIpi();
                break;
            case RegLvtTimer:
                PollTimer();
                _lvtTimer = (value & LvtTimerWritable) | lvtMask;
                break;
            case RegLvtThermal: _lvtThermal = (value & LvtOtherWritable) | lvtMask; break;
            case RegLvtPerf: _lvtPerf = (value & LvtOtherWritable) | lvtMask; break;
            case RegLvtLint0: _lvtLint0 = (value & LvtOtherWritable) | lvtMask; break;
            case RegLvtLint1: _lvtLint1 = (value & LvtOtherWritable) | lvtMask; break;
            case RegLvtError: _lvtError = (value & LvtOtherWritable) | lvtMask; break;
            case RegTimerInitial: StartTimer(value); break;
            case RegTimerDivide: SetDivide(value); break;
        }
    }

    private void MaskAllLvt()
    {
        _lvtTimer |= LvtMasked; _lvtThermal |= LvtMasked; _lvtPerf |= LvtMasked; _lvtLint0 |= LvtMasked;
        _lvtLint1 |= LvtMasked; _lvtError |= LvtMasked; _lvtCmci |= LvtMasked;
    }

    private void SendIpi()
    {
        var ipi = new InterProcessorInterrupt(Id, _icrLow, _icrHigh);
        if (ipi.DeliveryMode is IpiDeliveryMode.Fixed or IpiDeliveryMode.LowestPriority && ipi.Vector < 16)
        {
            _esrPending |= EsrSendIllegalVector;
            return;
        }
        if (ipi.Shorthand == IpiShorthand.Self)
        {
            if (ipi.DeliveryMode == IpiDeliveryMode.Fixed) Accept(ipi.Vector);
            return;
        }
        _bus?.Send(ipi);
    }
}
