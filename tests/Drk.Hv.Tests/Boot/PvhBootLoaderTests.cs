using System.Buffers.Binary;
using System.Text;
using Drk.Hv.Boot;
using Drk.Hv.Cpu;
using Drk.Hv.Devices;
using Drk.Hv.Memory;
using Drk.Hv.Tests.Support;

namespace Drk.Hv.Tests.Boot;

public sealed class PvhBootLoaderTests : IDisposable
{
    private readonly Machine _machine = new(new MachineConfig { RamSize = 32 << 20, CpuCount = 3 }, EagerFlags.Instance);

    public void Dispose() => _machine.Dispose();

    private uint U32(ulong pa) => (uint)_machine.Memory.Read(pa, 4);
    private ulong U64(ulong pa) => _machine.Memory.Read(pa, 8);

    private BootResult Boot(string cmdline = "console=ttyS0 quiet", byte[]? initrd = null, bool acpi = true) =>
        PvhBootLoader.Boot(_machine, ElfBuilder.Kernel().Build(),
            new BootOptions { CommandLine = cmdline, Initrd = initrd, BuildAcpi = acpi });

    [Fact]
    public void SegmentsAreLoadedByPhysicalAddressAndBssIsZero()
    {
        _machine.Memory.GetRamSpan(0x20_0000, 0x2000).Fill(0xEE);
        Boot();
        Assert.Equal(0xF4, _machine.Memory.GetRamSpan(0x10_0010, 1)[0]);
        Assert.Equal(0x0403_0201u, U32(0x20_0000));
        Assert.Equal(0UL, U64(0x20_1FF8));
    }

    [Fact]
    public void TheBootVcpuEntersLongModeAsTheContractSays()
    {
        var result = Boot();
        var cpu = _machine.Vcpus[0];
        var s = cpu.State;
        Assert.Equal(0x10_0010UL, s.Rip);
        Assert.Equal(BootLayout.StartInfoAddress, s.Slots[GuestReg.Rbx]);
        Assert.Equal(0, s.Cpl);
        Assert.Equal(0UL, s.Slots[GuestReg.FlagsOther] & Drk.Hv.Cpu.Rflags.IF);
        Assert.Equal(ControlBits.Cr0PE | ControlBits.Cr0PG | ControlBits.Cr0WP, s.Sys.Cr0 & (ControlBits.Cr0PE | ControlBits.Cr0PG | ControlBits.Cr0WP));
        Assert.Equal(ControlBits.Cr4PAE, s.Sys.Cr4 & ControlBits.Cr4PAE);
        Assert.Equal(ControlBits.EferLME | ControlBits.EferLMA | ControlBits.EferNXE, s.Sys.Efer);
        Assert.Equal(result.Cr3, s.Sys.Cr3);
        Assert.Equal(BootLayout.CodeSelector, s.Sys.Cs);
        Assert.Equal(BootLayout.CodeDescriptor, U64(s.Sys.Gdtr.Base + s.Sys.Cs));
        Assert.True(new SegmentDescriptor(BootLayout.CodeDescriptor).Is64BitCode);
        Assert.False(cpu.WaitingForStartup);
        Assert.True(_machine.Vcpus[1].WaitingForStartup);

        // The identity map covers the first 4 GiB: the kernel, the top of RAM and the local APIC.
        Assert.True(cpu.Mmu.Fetch(0x10_0010, new byte[1], out _) == 1);
        Assert.True(cpu.Mmu.Translate(0xFFFF_F000, AccessKind.Write, out ulong pa, out _));
        Assert.Equal(0xFFFF_F000UL, pa);
        Assert.True(cpu.Mmu.Read(LocalApic.DefaultBase + LocalApic.RegVersion, 4, out ulong version, out _));
        Assert.Equal(LocalApic.VersionValue, (uint)version);
        Assert.False(cpu.Mmu.Read(0x1_0000_0000, 1, out _, out var fault));
        Assert.Equal(ExceptionVector.PageFault, fault.Vector);
    }

    [Fact]
    public void HvmStartInfoHasTheDocumentedLayout()
    {
        var initrd = Encoding.ASCII.GetBytes("initrd contents");
        var result = Boot("root=/dev/ram0", initrd);
        ulong si = BootLayout.StartInfoAddress;
        Assert.Equal(0x336E_C578u, U32(si));
        Assert.Equal(1u, U32(si + 4));
        Assert.Equal(0u, U32(si + 8));
        Assert.Equal(1u, U32(si + 12));
        ulong modlist = U64(si + 16);
        ulong cmdline = U64(si + 24);
        Assert.Equal(result.RsdpAddress, U64(si + 32));
        ulong memmap = U64(si + 40);
        uint entries = U32(si + 48);
        Assert.Equal(0u, U32(si + 52));

        var cmd = new byte[15];
        _machine.Memory.ReadBytes(cmdline, cmd);
        Assert.Equal("root=/dev/ram0\0", Encoding.ASCII.GetString(cmd));

        Assert.Equal(result.InitrdAddress, U64(modlist));
        Assert.Equal((ulong)initrd.Length, U64(modlist + 8));
        Assert.Equal(0UL, U64(modlist + 16));
        Assert.Equal(0UL, result.InitrdAddress % 4096);
        Assert.True(result.InitrdAddress + (ulong)initrd.Length <= 32 << 20);
        Assert.True(result.InitrdAddress >= result.KernelEnd);
        var back = new byte[initrd.Length];
        _machine.Memory.ReadBytes(result.InitrdAddress, back);
        Assert.Equal(initrd, back);

        Assert.Equal((uint)result.MemoryMap.Count, entries);
        ulong ramTotal = 0;
        for (uint i = 0; i < entries; i++)
        {
            ulong e = memmap + i * 24;
            if (U32(e + 16) == 1) ramTotal += U64(e + 8);
            Assert.Equal(0u, U32(e + 20));
        }
        Assert.Equal((32UL << 20) - 0x6_0400, ramTotal); // all RAM except the 640K-1M hole
        Assert.Equal(1UL, U32(memmap + 3 * 24 + 16));
        Assert.Equal(BootLayout.KernelMinimumAddress, U64(memmap + 3 * 24));
    }

    [Fact]
    public void WithoutInitrdOrAcpiTheFieldsAreZero()
    {
        var result = Boot(acpi: false);
        Assert.Equal(0u, U32(BootLayout.StartInfoAddress + 12));
        Assert.Equal(0UL, U64(BootLayout.StartInfoAddress + 16));
        Assert.Equal(0UL, U64(BootLayout.StartInfoAddress + 32));
        Assert.Equal(0UL, result.RsdpAddress);
    }

    [Fact]
    public void TheMadtListsEveryCpuAndAllChecksumsHold()
    {
        var result = Boot();
        ulong rsdp = result.RsdpAddress;
        var bytes = new byte[36];
        _machine.Memory.ReadBytes(rsdp, bytes);
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(bytes, 0, 8));
        Assert.Equal(0, Sum(bytes.AsSpan(0, 20)));
        Assert.Equal(0, Sum(bytes));
        ulong xsdt = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(24));
        ulong madt = U64(xsdt + 36);
        Assert.Equal((uint)madt, U32(U32(rsdp + 16) + 36)); // the RSDT lists it too
        uint length = U32(madt + 4);
        var table = new byte[length];
        _machine.Memory.ReadBytes(madt, table);
        Assert.Equal("APIC", Encoding.ASCII.GetString(table, 0, 4));
        Assert.Equal(0, Sum(table));
        Assert.Equal((uint)LocalApic.DefaultBase, BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(36)));
        int cpus = 0;
        for (int at = 44; at < table.Length; at += table[at + 1])
        {
            Assert.Equal(0, table[at]);
            Assert.Equal(cpus, table[at + 3]);
            Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(at + 4)) & 1);
            cpus++;
        }
        Assert.Equal(3, cpus);
    }

    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte s = 0;
        foreach (var b in bytes) s += b;
        return s;
    }

    [Fact]
    public void AnInitrdThatDoesNotFitIsRefusedBeforeAnythingIsWritten()
    {
        var e = Assert.Throws<BootException>(() => Boot(initrd: new byte[31 << 20]));
        Assert.Contains("initrd", e.Message);
        Assert.Equal(0u, U32(BootLayout.StartInfoAddress));
        Assert.Equal(0, _machine.Memory.GetRamSpan(0x10_0010, 1)[0]);
    }

    [Fact]
    public void AnOverlongCommandLineIsRefused()
    {
        var e = Assert.Throws<BootException>(() => Boot(new string('x', 5000)));
        Assert.Contains("command line", e.Message);
    }

    [Fact]
    public void AKernelTooBigForRamIsRefused()
    {
        var b = ElfBuilder.Kernel();
        b.Segments.Add(new ElfBuilder.Segment(0x30_0000, new byte[4], 64UL << 20, Flags: 6));
        var e = Assert.Throws<BootException>(() => PvhBootLoader.Boot(_machine, b.Build()));
        Assert.Contains("outside RAM", e.Message);
    }
}
