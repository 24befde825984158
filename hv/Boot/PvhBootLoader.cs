using System.Buffers.Binary;
using System.Text;
using Drk.Hv.Devices;

namespace Drk.Hv.Boot;

/// <summary>
/// Boots a machine the PVH way, minus the 32-bit stub: loads the ELF64 kernel's PT_LOAD segments
/// by physical address, places the initrd, writes <c>hvm_start_info</c>, the command line, the
/// memory map, the boot GDT, identity page tables and (optionally) ACPI tables, and puts vCPU 0
/// at the 64-bit entry (<see cref="LongModeEntry"/>). Layout: <see cref="BootLayout"/>.
/// </summary>
/// <remarks>
/// Everything is validated before guest memory is touched; problems are
/// <see cref="BootException"/>s with a one-line message. Application processors stay waiting for
/// a STARTUP IPI.
/// </remarks>
public static class PvhBootLoader
{
    /// <summary>Boots <paramref name="machine"/> with <paramref name="kernelImage"/>.</summary>
    /// <exception cref="BootException">The image, initrd or command line cannot be booted on this machine.</exception>
    public static BootResult Boot(Machine machine, ReadOnlySpan<byte> kernelImage, BootOptions? options = null)
    {
        options ??= new BootOptions();
        var memory = machine.Memory;
        ulong ram = memory.RamSize;

        var kernel = ElfKernelImage.Parse(kernelImage);
        kernel.ValidatePlacement(ram);

        byte[] cmdline = Encoding.UTF8.GetBytes(options.CommandLine);
        if (cmdline.Length > BootLayout.MaxCommandLineBytes)
            throw new BootException($"command line is {cmdline.Length} bytes; at most {BootLayout.MaxCommandLineBytes} fit");
        if (Array.IndexOf(cmdline, (byte)0) >= 0)
            throw new BootException("command line contains a NUL character");

        ulong kernelEnd = kernel.PhysicalEnd;
        ulong initrdAddress = 0, initrdSize = 0;
        if (options.Initrd is { } initrd)
        {
            initrdSize = (ulong)initrd.Length;
            ulong top = ram - initrdSize;
            initrdAddress = initrdSize > ram ? 0 : top & ~0xFFFUL;
            if (initrdSize > ram || initrdAddress < kernelEnd || initrdAddress < BootLayout.KernelMinimumAddress)
                throw new BootException($"initrd of {initrdSize} bytes does not fit between the kernel's end ({kernelEnd:#x}) and the end of RAM ({ram:#x})");
        }

        var map = new List<MemoryMapEntry>
        {
            new(0, 0x9_FC00, MemoryMapType.Ram),
            new(0x9_FC00, 0x400, MemoryMapType.Reserved),
            new(0xE_0000, 0x2_0000, MemoryMapType.Reserved),
            new(BootLayout.KernelMinimumAddress, ram - BootLayout.KernelMinimumAddress, MemoryMapType.Ram),
        };

        // Validation done: write guest memory.
        kernel.LoadInto(memory, kernelImage);
        if (options.Initrd is { } bytes) bytes.CopyTo(memory.GetRamSpan(initrdAddress, bytes.Length));

        var gdt = memory.GetRamSpan(BootLayout.GdtAddress, 24);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt, BootLayout.NullDescriptor);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.Slice(8), BootLayout.CodeDescriptor);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.Slice(16), BootLayout.DataDescriptor);

        var cmd = memory.GetRamSpan(BootLayout.CommandLineAddress, BootLayout.MaxCommandLineBytes + 1);
        cmd.Clear();
        cmdline.CopyTo(cmd);

        ulong rsdp = 0;
        if (options.BuildAcpi)
        {
            int cpus = machine.Vcpus.Count;
            rsdp = AcpiTableBuilder.Build(memory.GetRamSpan(BootLayout.AcpiAddress, AcpiTableBuilder.Size(cpus)),
                BootLayout.AcpiAddress, cpus, LocalApic.DefaultBase);
        }

        var info = new HvmStartInfo
        {
            ModuleListAddress = BootLayout.ModuleListAddress,
            Modules = options.Initrd != null ? new[] { (initrdAddress, initrdSize) } : Array.Empty<(ulong, ulong)>(),
            CommandLineAddress = BootLayout.CommandLineAddress,
            RsdpAddress = rsdp,
            MemoryMapAddress = BootLayout.MemoryMapAddress,
            MemoryMap = map,
        };
        info.WriteHeader(memory.GetRamSpan(BootLayout.StartInfoAddress, HvmStartInfo.Size));
        info.WriteModules(memory.GetRamSpan(BootLayout.ModuleListAddress, HvmStartInfo.ModuleEntrySize));
        info.WriteMemoryMap(memory.GetRamSpan(BootLayout.MemoryMapAddress, HvmStartInfo.MemoryMapEntrySize * map.Count));

        ulong cr3 = IdentityPageTables.Build(memory, BootLayout.PageTablesAddress);
        LongModeEntry.Apply(machine.Vcpus[0], kernel.Entry, BootLayout.StartInfoAddress, cr3);
        return new BootResult(kernel.Entry, BootLayout.StartInfoAddress, cr3, kernelEnd, initrdAddress, initrdSize, rsdp, map);
    }
}
