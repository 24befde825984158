using Drk.Hv.Memory;

namespace Drk.Hv.Cpu;

/// <summary>
/// Long-mode event delivery through the IDT (interrupt and trap gates, IST, the RSP0..2 stack
/// switch from the TSS, error codes, the double-fault rules, triple fault) and its inverse, IRETQ.
/// </summary>
/// <remarks>
/// <para>
/// The caller passes the vCPU state as it must be seen by the handler's frame: for a fault, the
/// architectural state before the faulting instruction with RIP = its RIP; for an external
/// interrupt or NMI, the state at an instruction boundary; for INT n, RIP = the INT instruction
/// (the frame gets <c>nextRip</c>). Nothing of the state changes unless delivery succeeds, except
/// CR2, which a page fault sets when it is raised.
/// </para>
/// <para>
/// A fault while delivering (IDT limit, gate type, not-present gate or segment, TSS, a stack push)
/// is combined with the event being delivered as the SDM's double-fault table says: contributory
/// (#DE, #TS, #NP, #SS, #GP) after contributory, or contributory/#PF after #PF, becomes #DF(0);
/// anything after #DF is a triple fault, reported as <see cref="DeliveryOutcome.TripleFault"/>;
/// otherwise the new fault is delivered instead. Nested faults return to the original RIP.
/// </para>
/// <para>
/// Handlers must be 64-bit code segments (long mode never enters compatibility-mode handlers);
/// IRETQ to a compatibility-mode segment is refused with #GP(selector), since the execution core
/// runs 64-bit code only. RF is not modelled: it is cleared on delivery and never set in frames.
/// </para>
/// </remarks>
public sealed class InterruptDelivery
{
    private const ulong ClearedOnDelivery = Rflags.TF | Rflags.NT | Rflags.RF | Rflags.VM;

    private readonly IFlagsAccess _flags;

    public InterruptDelivery(IFlagsAccess flags) => _flags = flags;

    /// <summary>Delivers the processor exception <paramref name="fault"/>; the frame returns to <c>state.Rip</c>.</summary>
    public DeliveryOutcome DeliverException(VcpuState state, IGuestMemory memory, in GuestFault fault) =>
        Deliver(state, memory, InterruptEvent.FromFault(fault), state.Rip, out _);

    /// <summary>INT n / INT3: checks the gate DPL; the frame returns to <paramref name="nextRip"/>.</summary>
    public DeliveryOutcome DeliverSoftwareInterrupt(VcpuState state, IGuestMemory memory, byte vector, ulong nextRip) =>
        Deliver(state, memory, new InterruptEvent { Kind = InterruptKind.SoftwareInterrupt, Vector = vector }, nextRip, out _);

    /// <summary>An interrupt acknowledged from the local APIC; the frame returns to <c>state.Rip</c>.</summary>
    public DeliveryOutcome DeliverExternalInterrupt(VcpuState state, IGuestMemory memory, byte vector) =>
        Deliver(state, memory, new InterruptEvent { Kind = InterruptKind.External, Vector = vector }, state.Rip, out _);

    /// <summary>An NMI (vector 2); blocks NMIs until the next IRETQ.</summary>
    public DeliveryOutcome DeliverNmi(VcpuState state, IGuestMemory memory) =>
        Deliver(state, memory, new InterruptEvent { Kind = InterruptKind.Nmi, Vector = (byte)ExceptionVector.Nmi }, state.Rip, out _);

    /// <summary>
    /// Delivers <paramref name="ev"/> with <paramref name="returnRip"/> in the frame, applying the
    /// nested-fault rules. <paramref name="delivered"/> is the event whose handler now runs (the
    /// original, a nested fault or #DF).
    /// </summary>
    public DeliveryOutcome Deliver(VcpuState state, IGuestMemory memory, InterruptEvent ev, ulong returnRip,
        out InterruptEvent delivered)
    {
        var current = ev;
        ulong rip = returnRip;
        for (int attempt = 0; attempt < 8; attempt++)
        {
            if (current.IsPageFault) state.Sys.Cr2 = current.Cr2;
            if (TryDeliver(state, memory, current, rip, out var nested))
            {
                delivered = current;
                return DeliveryOutcome.Delivered;
            }
            var second = InterruptEvent.FromFault(nested);
            // CR2 is loaded when the page fault is detected, even if it then becomes #DF.
            if (second.IsPageFault) state.Sys.Cr2 = second.Cr2;
            if (current.Kind == InterruptKind.Exception && current.Vector == (byte)ExceptionVector.DoubleFault)
                break;
            var first = Classify(current);
            var next = Classify(second);
            if ((first == FaultClass.Contributory && next == FaultClass.Contributory)
                || (first == FaultClass.PageFault && next != FaultClass.Benign))
            {
                current = new InterruptEvent
                {
                    Kind = InterruptKind.Exception, Vector = (byte)ExceptionVector.DoubleFault, HasErrorCode = true,
                };
            }
            else
            {
                current = second;
            }
            // A fault raised while delivering returns to the interrupted instruction itself.
            rip = state.Rip;
        }
        delivered = current;
        return DeliveryOutcome.TripleFault;
    }

    private enum FaultClass : byte { Benign, Contributory, PageFault }

    private static FaultClass Classify(in InterruptEvent ev)
    {
        if (ev.Kind != InterruptKind.Exception) return FaultClass.Benign;
        return (ExceptionVector)ev.Vector switch
        {
            ExceptionVector.DivideError or ExceptionVector.InvalidTss or ExceptionVector.SegmentNotPresent
                or ExceptionVector.StackFault or ExceptionVector.GeneralProtection => FaultClass.Contributory,
            ExceptionVector.PageFault => FaultClass.PageFault,
            _ => FaultClass.Benign,
        };
    }

    private bool TryDeliver(VcpuState state, IGuestMemory memory, in InterruptEvent ev, ulong returnRip, out GuestFault fault)
    {
        var sys = state.Sys;
        uint ext = ev.Kind == InterruptKind.SoftwareInterrupt ? 0u : 1u;
        uint idtError = ((uint)ev.Vector << 3) | 2 | ext;
        ulong gateOffset = (ulong)ev.Vector * 16;
        if (gateOffset + 15 > sys.Idtr.Limit)
            return Fail(ExceptionVector.GeneralProtection, idtError, out fault);
        if (!SupervisorAccess.Read(memory, sys.Idtr.Base + gateOffset, 8, out ulong low, out fault)) return false;
        if (!SupervisorAccess.Read(memory, sys.Idtr.Base + gateOffset + 8, 8, out ulong high, out fault)) return false;
        var gate = new GateDescriptor(low, high);
        if (!gate.IsSystem || (gate.Type != GateDescriptor.InterruptGate && gate.Type != GateDescriptor.TrapGate))
            return Fail(ExceptionVector.GeneralProtection, idtError, out fault);
        if (ev.Kind == InterruptKind.SoftwareInterrupt && gate.Dpl < state.Cpl)
            return Fail(ExceptionVector.GeneralProtection, idtError, out fault);
        if (!gate.Present)
            return Fail(ExceptionVector.SegmentNotPresent, idtError, out fault);

        ushort selector = gate.Selector;
        if ((selector & 0xFFFC) == 0)
            return Fail(ExceptionVector.GeneralProtection, ext, out fault);
        if (!SupervisorAccess.ReadGdt(state, memory, selector, ext, out var code, out fault)) return false;
        uint selError = ((uint)selector & 0xFFFC) | ext;
        if (!code.IsCode || code.Dpl > state.Cpl || !code.Is64BitCode)
            return Fail(ExceptionVector.GeneralProtection, selError, out fault);
        if (!code.Present)
            return Fail(ExceptionVector.SegmentNotPresent, selError, out fault);
        int newCpl = code.IsConforming ? state.Cpl : code.Dpl;
        ulong target = gate.Offset;
        if (!Mmu.IsCanonical(target))
            return Fail(ExceptionVector.GeneralProtection, ext, out fault);

        ulong rsp;
        if (gate.Ist != 0)
        {
            if (!ReadTss(state, memory, 0x24 + 8 * (uint)(gate.Ist - 1), ext, out rsp, out fault)) return false;
        }
        else if (newCpl < state.Cpl)
        {
            if (!ReadTss(state, memory, 4 + 8 * (uint)newCpl, ext, out rsp, out fault)) return false;
        }
        else
        {
            rsp = state.Slots[GuestReg.Rsp];
        }
        if (!Mmu.IsCanonical(rsp))
            return Fail(ExceptionVector.StackFault, ext, out fault);
        rsp &= ~0xFUL;

        ulong rflags = _flags.ReadRflags(state);
        Span<ulong> frame = stackalloc ulong[6];
        int count = 0;
        if (ev.HasErrorCode && ev.Kind == InterruptKind.Exception) frame[count++] = ev.ErrorCode;
        frame[count++] = returnRip;
        frame[count++] = sys.Cs;
        frame[count++] = rflags;
        frame[count++] = state.Slots[GuestReg.Rsp];
        frame[count++] = sys.Ss;
        ulong newRsp = rsp - (ulong)(8 * count);
        // Push order as the processor does it (SS first, at the highest address), so a fault on
        // the way reports the same CR2.
        for (int i = count - 1; i >= 0; i--)
        {
            ulong at = newRsp + (ulong)(8 * i);
            bool ok = newCpl < 3
                ? SupervisorAccess.Write(memory, at, 8, frame[i], out fault)
                : memory.Write(at, 8, frame[i], out fault);
            if (!ok)
            {
                if (fault.Vector == ExceptionVector.GeneralProtection)
                    fault = GuestFault.WithErrorCode(ExceptionVector.StackFault, ext);
                return false;
            }
        }

        if (newCpl != state.Cpl) sys.Ss = (ushort)newCpl;
        sys.Cs = (ushort)((selector & 0xFFFC) | newCpl);
        state.Cpl = newCpl;
        state.Slots[GuestReg.Rsp] = newRsp;
        state.Rip = target;
        ulong cleared = ClearedOnDelivery | (gate.Type == GateDescriptor.InterruptGate ? Rflags.IF : 0);
        state.Slots[GuestReg.FlagsOther] &= ~cleared;
        sys.Halted = false;
        sys.InterruptShadow = false;
        if (ev.Kind == InterruptKind.Nmi) sys.NmiBlocked = true;
        fault = default;
        return true;
    }

    /// <summary>Reads the 8-byte TSS field at <paramref name="offset"/>; outside the TSS limit is #TS(TR selector).</summary>
    private static bool ReadTss(VcpuState state, IGuestMemory memory, uint offset, uint ext, out ulong value, out GuestFault fault)
    {
        var tr = state.Sys.Tr;
        if ((tr.Selector & 0xFFFC) == 0 || offset + 7 > tr.Limit)
        {
            value = 0;
            return Fail(ExceptionVector.InvalidTss, ((uint)tr.Selector & 0xFFFC) | ext, out fault);
        }
        return SupervisorAccess.Read(memory, tr.Base + offset, 8, out value, out fault);
    }

    private static bool Fail(ExceptionVector vector, uint errorCode, out GuestFault fault)
    {
        fault = GuestFault.WithErrorCode(vector, errorCode);
        return false;
    }

    // ---- IRETQ -------------------------------------------------------------------------------

    /// <summary>
    /// IRETQ in 64-bit mode: pops RIP, CS, RFLAGS, RSP, SS (always all five) and returns to the
    /// same or an outer privilege level. On a fault nothing changes.
    /// </summary>
    public SystemOutcome Iret(VcpuState state, IGuestMemory memory, out GuestFault fault)
    {
        var sys = state.Sys;
        ulong rflagsNow = _flags.ReadRflags(state);
        if ((rflagsNow & Rflags.NT) != 0)
            return Fault(GuestFault.GeneralProtection(), out fault);

        ulong rsp = state.Slots[GuestReg.Rsp];
        Span<ulong> frame = stackalloc ulong[5];
        for (int i = 0; i < 5; i++)
            if (!memory.Read(rsp + (ulong)(8 * i), 8, out frame[i], out fault))
                return StackFaultFrom(ref fault);
        ulong newRip = frame[0];
        ushort cs = (ushort)frame[1];
        ulong newFlags = frame[2];
        ulong newRsp = frame[3];
        ushort ss = (ushort)frame[4];

        int cpl = state.Cpl;
        int rpl = cs & 3;
        if ((cs & 0xFFFC) == 0) return Fault(GuestFault.GeneralProtection(), out fault);
        uint csError = (uint)cs & 0xFFFC;
        if (rpl < cpl) return Fault(GuestFault.GeneralProtection(csError), out fault);
        if (!SupervisorAccess.ReadGdt(state, memory, cs, 0, out var code, out fault)) return SystemOutcome.Fault;
        if (!code.IsCode) return Fault(GuestFault.GeneralProtection(csError), out fault);
        if (code.IsConforming ? code.Dpl > rpl : code.Dpl != rpl) return Fault(GuestFault.GeneralProtection(csError), out fault);
        if (!code.Present) return Fault(GuestFault.WithErrorCode(ExceptionVector.SegmentNotPresent, csError), out fault);
        if (!code.Is64BitCode) return Fault(GuestFault.GeneralProtection(csError), out fault);

        uint ssError = (uint)ss & 0xFFFC;
        if ((ss & 0xFFFC) == 0)
        {
            // Long mode allows a null SS only when returning to ring 0..2, with RPL = the new CPL.
            if (rpl == 3 || (ss & 3) != rpl) return Fault(GuestFault.GeneralProtection(), out fault);
        }
        else
        {
            if ((ss & 3) != rpl) return Fault(GuestFault.GeneralProtection(ssError), out fault);
            if (!SupervisorAccess.ReadGdt(state, memory, ss, 0, out var stack, out fault)) return SystemOutcome.Fault;
            if (!stack.IsWritableData || stack.Dpl != rpl) return Fault(GuestFault.GeneralProtection(ssError), out fault);
            if (!stack.Present) return Fault(GuestFault.WithErrorCode(ExceptionVector.StackFault, ssError), out fault);
        }
        if (!Mmu.IsCanonical(newRip)) return Fault(GuestFault.GeneralProtection(), out fault);

        // Which RFLAGS bits the popped image may change depends on the privilege of the IRETQ.
        ulong changeable = Rflags.Arithmetic | Rflags.TF | Rflags.DF | Rflags.NT | Rflags.RF | Rflags.AC | Rflags.ID;
        int iopl = Rflags.IoplOf(rflagsNow);
        if (cpl == 0) changeable |= Rflags.Iopl | Rflags.IF;
        else if (cpl <= iopl) changeable |= Rflags.IF;
        ulong merged = (rflagsNow & ~changeable) | (newFlags & changeable);
        merged = (merged & Rflags.Defined & ~(Rflags.VM | Rflags.VIF | Rflags.VIP)) | Rflags.Reserved1;

        _flags.WriteRflags(state, merged);
        sys.Cs = cs;
        sys.Ss = ss;
        state.Cpl = rpl;
        state.Slots[GuestReg.Rsp] = newRsp;
        state.Rip = newRip;
        sys.NmiBlocked = false;
        if (rpl > cpl) NullOuterDataSegments(state, memory, rpl);
        fault = default;
        return SystemOutcome.Jump;
    }

    // ---- RET far ------------------------------------------------------------------------------

    /// <summary>
    /// RET far in 64-bit mode (kernels use LRETQ to reload CS): pops RIP and CS of
    /// <paramref name="operandBytes"/> each, releases <paramref name="release"/> more bytes, and on a
    /// return to an outer ring pops RSP and SS too. The target must be 64-bit code (no
    /// compatibility mode, as for IRETQ). On a fault nothing changes.
    /// </summary>
    public SystemOutcome FarReturn(VcpuState state, IGuestMemory memory, int operandBytes, ulong release, out GuestFault fault)
    {
        var sys = state.Sys;
        if (operandBytes is not (2 or 4 or 8)) return Fault(GuestFault.InvalidOpcode(), out fault);
        ulong size = (ulong)operandBytes;
        ulong rsp = state.Slots[GuestReg.Rsp];
        if (!memory.Read(rsp, operandBytes, out ulong newRip, out fault)) return StackFaultFrom(ref fault);
        if (!memory.Read(rsp + size, operandBytes, out ulong csValue, out fault)) return StackFaultFrom(ref fault);
        ushort cs = (ushort)csValue;

        int cpl = state.Cpl;
        int rpl = cs & 3;
        uint csError = (uint)cs & 0xFFFC;
        if ((cs & 0xFFFC) == 0) return Fault(GuestFault.GeneralProtection(), out fault);
        if (rpl < cpl) return Fault(GuestFault.GeneralProtection(csError), out fault);
        if (!SupervisorAccess.ReadGdt(state, memory, cs, 0, out var code, out fault)) return SystemOutcome.Fault;
        if (!code.IsCode) return Fault(GuestFault.GeneralProtection(csError), out fault);
        if (code.IsConforming ? code.Dpl > rpl : code.Dpl != rpl) return Fault(GuestFault.GeneralProtection(csError), out fault);
        if (!code.Present) return Fault(GuestFault.WithErrorCode(ExceptionVector.SegmentNotPresent, csError), out fault);
        if (!code.Is64BitCode) return Fault(GuestFault.GeneralProtection(csError), out fault);
        if (!Mmu.IsCanonical(newRip)) return Fault(GuestFault.GeneralProtection(), out fault);

        ulong newRsp = rsp + 2 * size + release;
        ushort ss = sys.Ss;
        if (rpl > cpl)
        {
            if (!memory.Read(newRsp, operandBytes, out ulong outerRsp, out fault)) return StackFaultFrom(ref fault);
            if (!memory.Read(newRsp + size, operandBytes, out ulong ssValue, out fault)) return StackFaultFrom(ref fault);
            ss = (ushort)ssValue;
            uint ssError = (uint)ss & 0xFFFC;
            if ((ss & 0xFFFC) == 0)
            {
                if (rpl == 3 || (ss & 3) != rpl) return Fault(GuestFault.GeneralProtection(), out fault);
            }
            else
            {
                if ((ss & 3) != rpl) return Fault(GuestFault.GeneralProtection(ssError), out fault);
                if (!SupervisorAccess.ReadGdt(state, memory, ss, 0, out var stack, out fault)) return SystemOutcome.Fault;
                if (!stack.IsWritableData || stack.Dpl != rpl) return Fault(GuestFault.GeneralProtection(ssError), out fault);
                if (!stack.Present) return Fault(GuestFault.WithErrorCode(ExceptionVector.StackFault, ssError), out fault);
            }
            newRsp = outerRsp + release;
        }

        sys.Cs = cs;
        sys.Ss = ss;
        state.Cpl = rpl;
        state.Slots[GuestReg.Rsp] = newRsp;
        state.Rip = newRip;
        if (rpl > cpl) NullOuterDataSegments(state, memory, rpl);
        fault = default;
        return SystemOutcome.Jump;
    }

    /// <summary>On a return to an outer ring, data segments the new CPL may not use become null (bases kept).</summary>
    private static void NullOuterDataSegments(VcpuState state, IGuestMemory memory, int newCpl)
    {
        var sys = state.Sys;
        Span<SegmentRegister> regs = stackalloc SegmentRegister[] { SegmentRegister.Es, SegmentRegister.Ds, SegmentRegister.Fs, SegmentRegister.Gs };
        foreach (var reg in regs)
        {
            ushort sel = sys.GetSelector(reg);
            if ((sel & 0xFFFC) == 0) continue;
            bool keep = SupervisorAccess.ReadGdt(state, memory, sel, 0, out var d, out _)
                        && (d.IsConforming || d.Dpl >= newCpl);
            if (!keep) sys.SetSelector(reg, 0);
        }
    }

    private static SystemOutcome StackFaultFrom(ref GuestFault fault)
    {
        if (fault.Vector == ExceptionVector.GeneralProtection) fault = GuestFault.WithErrorCode(ExceptionVector.StackFault, 0);
        return SystemOutcome.Fault;
    }

    private static SystemOutcome Fault(GuestFault f, out GuestFault fault)
    {
        fault = f;
        return SystemOutcome.Fault;
    }
}
