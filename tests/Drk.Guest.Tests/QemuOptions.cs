namespace Drk.Guest.Tests;

/// <summary>How to boot the guest in QEMU: image, initrd, command line, CPUs, memory, time limit.</summary>
/// <param name="Kernel">The kernel ELF to pass to -kernel.</param>
/// <param name="Initrd">The initrd to pass to -initrd, or null for none.</param>
/// <param name="CommandLine">The kernel command line (-append).</param>
/// <param name="Cpus">Number of virtual CPUs (-smp).</param>
/// <param name="MemoryMiB">Guest RAM in MiB (-m).</param>
/// <param name="Machine">The -M value; microvm boots fastest.</param>
/// <param name="Timeout">Wall-time limit; QEMU is killed after it.</param>
public sealed record QemuOptions(string Kernel, string? Initrd, string CommandLine, int Cpus = 1, int MemoryMiB = 256,
                                 string Machine = "microvm", TimeSpan? Timeout = null)
{
    /// <summary>The time limit used when none is given: generous, because TCG is slow on a loaded machine.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);
}
