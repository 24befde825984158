namespace Drk.Experiments.Specs;

/// <summary>The guest to boot: kernel, initrd, the base command line and the machine size.</summary>
/// <param name="Kernel">Absolute path of the kernel ELF.</param>
/// <param name="Initrd">Absolute path of the initrd, or null when the guest has none.</param>
/// <param name="Append">Base kernel command line; each run appends <c>run=&lt;workload&gt;</c>.</param>
/// <param name="Memory">Guest RAM as QEMU and <c>drk run</c> spell it, e.g. <c>256M</c>.</param>
public sealed record GuestImage(string Kernel, string? Initrd, string Append, string Memory);
