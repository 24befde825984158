using System.Text;

namespace Drk.Hv.Cpu;

/// <summary>
/// What CPUID reports: a fixed, documented feature set (docs/cpuid.md) that the machine and the
/// execution core implement, and nothing they do not. Leaves can be overridden with
/// <see cref="Set"/> when the execution core learns more instructions.
/// </summary>
/// <remarks>
/// Leaves not in the table (including everything above the maximum basic, hypervisor and
/// extended leaves) return zeros, as AMD processors do. Leaf 1 EBX[31:24] carries the calling
/// vCPU's APIC ID.
/// </remarks>
public sealed class CpuidTable
{
    /// <summary>A subleaf value that matches any ECX for leaves that do not use it.</summary>
    public const uint AnySubleaf = uint.MaxValue;

    public const uint MaxBasicLeaf = 0x16;
    public const uint HypervisorLeaf = 0x4000_0000;
    public const uint MaxExtendedLeaf = 0x8000_0008;

    /// <summary>The 12-character vendor (leaf 0) and hypervisor (leaf 0x40000000) signature.</summary>
    public const string Vendor = "DrkMachine64";
    /// <summary>The brand string (leaves 0x80000002..4).</summary>
    public const string Brand = "Drk virtual x86-64 CPU @ 1.00GHz";

    // Leaf 1 EDX.
    public const uint Leaf1EdxPse = 1u << 3, Leaf1EdxTsc = 1u << 4, Leaf1EdxMsr = 1u << 5, Leaf1EdxPae = 1u << 6,
        Leaf1EdxCx8 = 1u << 8, Leaf1EdxApic = 1u << 9, Leaf1EdxPge = 1u << 13, Leaf1EdxCmov = 1u << 15,
        Leaf1EdxClflush = 1u << 19;
    // Leaf 1 ECX.
    public const uint Leaf1EcxHypervisor = 1u << 31;
    // Leaf 7 subleaf 0 EBX.
    public const uint Leaf7EbxFsgsbase = 1u << 0;
    // Leaf 0x80000001.
    public const uint Ext1EdxSyscall = 1u << 11, Ext1EdxNx = 1u << 20, Ext1EdxPage1Gb = 1u << 26,
        Ext1EdxRdtscp = 1u << 27, Ext1EdxLongMode = 1u << 29;
    public const uint Ext1EcxLahfSahf = 1u << 0;
    // Leaf 0x80000007 EDX.
    public const uint Ext7EdxInvariantTsc = 1u << 8;

    private readonly Dictionary<(uint Leaf, uint Subleaf), CpuidResult> _leaves = new();

    /// <summary>The table described in docs/cpuid.md.</summary>
    public static CpuidTable CreateDefault()
    {
        var t = new CpuidTable();
        var (v0, v1, v2) = Signature(Vendor);
        t.Set(0, AnySubleaf, MaxBasicLeaf, v0, v2, v1);
        // Family 6, model 1, stepping 1; CLFLUSH line 8 qwords; one logical processor per package.
        t.Set(1, AnySubleaf, 0x0000_0611, 0x0001_0800, Leaf1EcxHypervisor,
            Leaf1EdxPse | Leaf1EdxTsc | Leaf1EdxMsr | Leaf1EdxPae | Leaf1EdxCx8 | Leaf1EdxApic | Leaf1EdxPge
            | Leaf1EdxCmov | Leaf1EdxClflush);
        t.Set(7, 0, 0, Leaf7EbxFsgsbase, 0, 0);
        // TSC and core crystal: 1 GHz (one tick per nanosecond of virtual time).
        t.Set(0x15, AnySubleaf, 1, 1, 1_000_000_000, 0);
        t.Set(0x16, AnySubleaf, 1000, 1000, 1000, 0);
        t.Set(HypervisorLeaf, AnySubleaf, HypervisorLeaf, v0, v1, v2);
        t.Set(0x8000_0000, AnySubleaf, MaxExtendedLeaf, 0, 0, 0);
        t.Set(0x8000_0001, AnySubleaf, 0, 0, Ext1EcxLahfSahf,
            Ext1EdxSyscall | Ext1EdxNx | Ext1EdxPage1Gb | Ext1EdxRdtscp | Ext1EdxLongMode);
        var brand = new byte[48];
        Encoding.ASCII.GetBytes(Brand, brand);
        for (uint i = 0; i < 3; i++)
        {
            int o = (int)i * 16;
            t.Set(0x8000_0002 + i, AnySubleaf, BitConverter.ToUInt32(brand, o), BitConverter.ToUInt32(brand, o + 4),
                BitConverter.ToUInt32(brand, o + 8), BitConverter.ToUInt32(brand, o + 12));
        }
        t.Set(0x8000_0007, AnySubleaf, 0, 0, 0, Ext7EdxInvariantTsc);
        t.Set(0x8000_0008, AnySubleaf, (uint)(ControlBits.PhysicalAddressBits | (48 << 8)), 0, 0, 0);
        return t;
    }

    private static (uint, uint, uint) Signature(string s)
    {
        var b = Encoding.ASCII.GetBytes(s);
        return (BitConverter.ToUInt32(b, 0), BitConverter.ToUInt32(b, 4), BitConverter.ToUInt32(b, 8));
    }

    /// <summary>Sets what <paramref name="leaf"/> (and <paramref name="subleaf"/>, or <see cref="AnySubleaf"/>) returns.</summary>
    public void Set(uint leaf, uint subleaf, uint eax, uint ebx, uint ecx, uint edx) =>
        _leaves[(leaf, subleaf)] = new CpuidResult(eax, ebx, ecx, edx);

    /// <summary>What CPUID returns for EAX = <paramref name="leaf"/>, ECX = <paramref name="subleaf"/> on the vCPU with <paramref name="apicId"/>.</summary>
    public CpuidResult Lookup(uint leaf, uint subleaf, byte apicId)
    {
        if (!_leaves.TryGetValue((leaf, subleaf), out var r) && !_leaves.TryGetValue((leaf, AnySubleaf), out r))
            return default;
        if (leaf == 1) r = r with { Ebx = (r.Ebx & 0x00FF_FFFF) | ((uint)apicId << 24) };
        return r;
    }
}
