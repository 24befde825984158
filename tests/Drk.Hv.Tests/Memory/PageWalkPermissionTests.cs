using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Drk.Hv.Tests.Support;
using static Drk.Hv.Tests.Support.PageTableBuilder;

namespace Drk.Hv.Tests.Memory;

/// <summary>
/// Every combination of P/RW/US/XD at every level of the walk, for CPL 0 and 3, CR0.WP and
/// EFER.NXE off and on, and read/write/fetch, against the architected result written out
/// independently here (Intel SDM vol. 3 §4.6, §4.7), including A/D updates.
/// </summary>
public sealed class PageWalkPermissionTests : IDisposable
{
    private const ulong Linear = 0x0000_1234_5678_9000 & 0x0000_7FFF_FFFF_F000;
    private const ulong Frame = 0x40_0000;
    private readonly PhysicalMemory _memory = new(16 << 20);
    private readonly VcpuState _state = new();
    private readonly Mmu _mmu;

    public PageWalkPermissionTests() => _mmu = new Mmu(_memory, _state);

    public void Dispose() => _memory.Dispose();

    /// <summary>The SDM's answer: allowed, or the #PF error code.</summary>
    private static (bool Ok, uint Error) Architected(ReadOnlySpan<ulong> entries, int cpl, bool wp, bool nxe, AccessKind kind)
    {
        bool user = cpl == 3;
        uint access = (kind == AccessKind.Write ? 2u : 0) | (user ? 4u : 0) | (kind == AccessKind.Execute && nxe ? 16u : 0);
        foreach (var e in entries)
        {
            if ((e & P) == 0) return (false, access);
            if ((e & NX) != 0 && !nxe) return (false, access | 1 | 8);
        }
        bool allUser = true, allWrite = true, anyNx = false;
        foreach (var e in entries)
        {
            allUser &= (e & US) != 0;
            allWrite &= (e & RW) != 0;
            anyNx |= (e & NX) != 0;
        }
        bool ok = kind switch
        {
            AccessKind.Read => !user || allUser,
            AccessKind.Write => user ? allUser && allWrite : !wp || allWrite,
            _ => (!user || allUser) && !(nxe && anyNx),
        };
        return ok ? (true, 0) : (false, access | 1);
    }

    [Theory]
    [InlineData(0x1000UL)]
    [InlineData(0x20_0000UL)]
    [InlineData(0x4000_0000UL)]
    public void EveryPermissionCombinationMatchesTheArchitecture(ulong pageSize)
    {
        var tables = new PageTableBuilder(_memory, 0x10_0000);
        ulong frame = pageSize == 0x4000_0000 ? 0 : Frame;
        tables.Map(Linear, frame, P | RW | US, pageSize);
        var addresses = tables.EntryAddresses(Linear);
        int levels = addresses.Count;
        var baseValues = new ulong[levels];
        for (int i = 0; i < levels; i++) baseValues[i] = _memory.Read(addresses[i], 8) & ~(P | RW | US | NX | A | D);
        _state.Sys.Cr0 = ControlBits.Cr0PE | ControlBits.Cr0PG;
        _state.Sys.Cr3 = tables.Cr3;
        _state.Sys.Efer = ControlBits.EferLME | ControlBits.EferLMA;
        ulong probe = Linear + 0x123;
        Span<ulong> entries = stackalloc ulong[levels];
        Span<byte> one = stackalloc byte[1];
        int checkedCount = 0;

        for (int combo = 0; combo < 1 << (4 * levels); combo++)
        {
            for (int i = 0; i < levels; i++)
            {
                int bits = (combo >> (4 * i)) & 0xF;
                entries[i] = baseValues[i] | ((bits & 1) != 0 ? P : 0) | ((bits & 2) != 0 ? RW : 0)
                             | ((bits & 4) != 0 ? US : 0) | ((bits & 8) != 0 ? NX : 0);
            }
            foreach (int cpl in new[] { 0, 3 })
            foreach (bool wp in new[] { false, true })
            foreach (bool nxe in new[] { false, true })
            foreach (var kind in new[] { AccessKind.Read, AccessKind.Write, AccessKind.Execute })
            {
                for (int i = 0; i < levels; i++) _memory.Write(addresses[i], 8, entries[i]);
                _state.Cpl = cpl;
                _state.Sys.Cr0 = (_state.Sys.Cr0 & ~ControlBits.Cr0WP) | (wp ? ControlBits.Cr0WP : 0);
                _state.Sys.Efer = (_state.Sys.Efer & ~ControlBits.EferNXE) | (nxe ? ControlBits.EferNXE : 0);
                _mmu.FlushPage(Linear);

                var (ok, error) = Architected(entries, cpl, wp, nxe, kind);
                bool got;
                GuestFault fault;
                switch (kind)
                {
                    case AccessKind.Read: got = _mmu.Read(probe, 1, out _, out fault); break;
                    case AccessKind.Write: got = _mmu.Write(probe, 1, 0x5A, out fault); break;
                    default: got = _mmu.Fetch(probe, one, out fault) == 1; break;
                }
                if (got != ok || (!ok && (fault.Vector != ExceptionVector.PageFault || fault.ErrorCode != error || fault.Cr2 != probe)))
                    Assert.Fail($"combo {combo:x} cpl={cpl} wp={wp} nxe={nxe} {kind}: expected {(ok ? "ok" : $"#PF({error:x})")}, got {(got ? "ok" : fault.ToString())}");

                for (int i = 0; i < levels; i++)
                {
                    ulong now = _memory.Read(addresses[i], 8);
                    ulong expected = entries[i];
                    if (ok) expected |= A | (i == levels - 1 && kind == AccessKind.Write ? D : 0);
                    if (now != expected)
                        Assert.Fail($"combo {combo:x} cpl={cpl} {kind}: level {4 - i} entry {now:x} expected {expected:x}");
                }
                checkedCount++;
            }
        }
        Assert.Equal((1 << (4 * levels)) * 24, checkedCount);
    }
}
