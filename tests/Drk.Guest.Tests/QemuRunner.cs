namespace Drk.Guest.Tests;

/// <summary>Boots the guest in qemu-system-x86_64 (TCG) and captures its serial console.</summary>
public static class QemuRunner
{
    /// <summary>The QEMU binary looked up on PATH.</summary>
    public const string Executable = "qemu-system-x86_64";

    /// <summary>Why QEMU cannot run here, or null.</summary>
    public static string? WhyUnavailable => ExternalTool.Missing(Executable);

    /// <summary>
    /// The command line for <paramref name="options"/>: -nographic puts COM1 on stdout, -no-reboot turns a
    /// triple fault into an exit, and isa-debug-exit at 0xf4 lets the guest choose the exit code.
    /// </summary>
    public static IReadOnlyList<string> Arguments(QemuOptions options)
    {
        var args = new List<string>
        {
            "-M", options.Machine,
            "-nographic",
            "-no-reboot",
            "-m", $"{options.MemoryMiB}M",
            "-smp", options.Cpus.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel", options.Kernel,
            "-append", options.CommandLine,
        };
        if (options.Initrd is not null)
            args.AddRange(["-initrd", options.Initrd]);
        return args;
    }

    /// <summary>Boots once and waits for QEMU to exit or the timeout to pass (then QEMU is killed).</summary>
    public static async Task<QemuRun> RunAsync(QemuOptions options)
    {
        var result = await ProcessRunner.RunAsync(Executable, Arguments(options), options.Timeout ?? QemuOptions.DefaultTimeout);
        return new QemuRun(result, SerialOutput.Normalize(result.StandardOutput));
    }
}
