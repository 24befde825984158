using System.Buffers.Binary;
using System.Text;

namespace Drk.Hv.Boot;

/// <summary>
/// The minimal ACPI tables a guest needs to count CPUs: an RSDP (revision 2) pointing at an
/// RSDT and an XSDT, each listing one MADT with the local APIC address and one enabled
/// Processor Local APIC entry per vCPU (processor UID = APIC ID = vCPU index).
/// </summary>
/// <remarks>
/// Layout from the base: RSDP at +0x00 (36 bytes), RSDT at +0x40, XSDT at +0x70, MADT at +0xA0
/// (44 + 8·N bytes). All checksums are filled. There is no FADT or DSDT: the guest must not
/// need AML; there is no I/O APIC entry because there is no I/O APIC.
/// </remarks>
public static class AcpiTableBuilder
{
    public const int RsdpOffset = 0x00, RsdtOffset = 0x40, XsdtOffset = 0x70, MadtOffset = 0xA0;
    private const int HeaderSize = 36;

    /// <summary>Bytes the tables take for <paramref name="cpuCount"/> CPUs.</summary>
    public static int Size(int cpuCount) => MadtOffset + HeaderSize + 8 + 8 * cpuCount;

    /// <summary>Writes the tables into <paramref name="target"/>, which lives at physical <paramref name="baseAddress"/>; returns the RSDP's address.</summary>
    public static ulong Build(Span<byte> target, ulong baseAddress, int cpuCount, ulong localApicAddress)
    {
        target.Slice(0, Size(cpuCount)).Clear();
        ulong rsdt = baseAddress + RsdtOffset, xsdt = baseAddress + XsdtOffset, madt = baseAddress + MadtOffset;

        var rsdp = target.Slice(RsdpOffset, 36);
        Encoding.ASCII.GetBytes("RSD PTR ", rsdp);
        Encoding.ASCII.GetBytes("DRK   ", rsdp.Slice(9));
        rsdp[15] = 2;
        BinaryPrimitives.WriteUInt32LittleEndian(rsdp.Slice(16), (uint)rsdt);
        BinaryPrimitives.WriteUInt32LittleEndian(rsdp.Slice(20), 36);
        BinaryPrimitives.WriteUInt64LittleEndian(rsdp.Slice(24), xsdt);
        rsdp[8] = Checksum(rsdp.Slice(0, 20));
        rsdp[32] = Checksum(rsdp);

        var rsdtTable = target.Slice(RsdtOffset, HeaderSize + 4);
        WriteHeader(rsdtTable, "RSDT", 1);
        BinaryPrimitives.WriteUInt32LittleEndian(rsdtTable.Slice(HeaderSize), (uint)madt);
        rsdtTable[9] = Checksum(rsdtTable);

        var xsdtTable = target.Slice(XsdtOffset, HeaderSize + 8);
        WriteHeader(xsdtTable, "XSDT", 1);
        BinaryPrimitives.WriteUInt64LittleEndian(xsdtTable.Slice(HeaderSize), madt);
        xsdtTable[9] = Checksum(xsdtTable);

        var madtTable = target.Slice(MadtOffset, HeaderSize + 8 + 8 * cpuCount);
        WriteHeader(madtTable, "APIC", 3);
        BinaryPrimitives.WriteUInt32LittleEndian(madtTable.Slice(HeaderSize), (uint)localApicAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(madtTable.Slice(HeaderSize + 4), 1); // PCAT_COMPAT: 8259s present
        for (int i = 0; i < cpuCount; i++)
        {
            var e = madtTable.Slice(HeaderSize + 8 + 8 * i, 8);
            e[0] = 0;              // Processor Local APIC
            e[1] = 8;
            e[2] = (byte)i;        // ACPI processor UID
            e[3] = (byte)i;        // APIC ID
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(4), 1); // enabled
        }
        madtTable[9] = Checksum(madtTable);
        return baseAddress + RsdpOffset;
    }

    private static void WriteHeader(Span<byte> table, string signature, byte revision)
    {
        Encoding.ASCII.GetBytes(signature, table);
        BinaryPrimitives.WriteUInt32LittleEndian(table.Slice(4), (uint)table.Length);
        table[8] = revision;
        Encoding.ASCII.GetBytes("DRK   ", table.Slice(10));
        Encoding.ASCII.GetBytes("DRKMACH ", table.Slice(16));
        BinaryPrimitives.WriteUInt32LittleEndian(table.Slice(24), 1);
        Encoding.ASCII.GetBytes("DRK ", table.Slice(28));
        BinaryPrimitives.WriteUInt32LittleEndian(table.Slice(32), 1);
    }

    /// <summary>The byte that makes <paramref name="bytes"/> sum to zero (its own slot must hold 0).</summary>
    private static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (var b in bytes) sum += b;
        return (byte)(0 - sum);
    }
}
