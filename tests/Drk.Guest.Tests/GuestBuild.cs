namespace Drk.Guest.Tests;

/// <summary>The guest kernel, modules and initrd built by <c>make -C guest</c>, once per test run.</summary>
public sealed class GuestBuild
{
    private static readonly Lazy<GuestBuild> shared = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    private GuestBuild(ProcessResult make)
    {
        Make = make;
        var build = Path.Combine(RepositoryRoot.Path, "guest", "build");
        KernelPath = Path.Combine(build, "kernel.elf");
        Entry64KernelPath = Path.Combine(build, "kernel-entry64.elf");
        InitrdPath = Path.Combine(build, "initrd");
    }

    /// <summary>The build shared by all tests; the first caller runs make (minutes at most), later ones wait for it.</summary>
    public static GuestBuild Shared => shared.Value;

    /// <summary>Why the guest cannot be built here (a missing tool), or null.</summary>
    public static string? WhyUnavailable => ExternalTool.Missing("make", "gcc", "nm", "objdump", "ld", "ar", "objcopy");

    /// <summary>The make run: exit code and output, for failure messages.</summary>
    public ProcessResult Make { get; }

    /// <summary>Whether make succeeded.</summary>
    public bool Succeeded => !Make.TimedOut && Make.ExitCode == 0;

    /// <summary>guest/build/kernel.elf: the kernel QEMU boots through its PVH note.</summary>
    public string KernelPath { get; }

    /// <summary>guest/build/kernel-entry64.elf: the same kernel entered at e_entry the way Drk's loader does.</summary>
    public string Entry64KernelPath { get; }

    /// <summary>guest/build/initrd: the cpio archive of module objects.</summary>
    public string InitrdPath { get; }

    /// <summary>Fails the calling test with make's output if the build failed.</summary>
    public void AssertSucceeded()
    {
        Assert.True(Succeeded, $"make -C guest failed (exit {Make.ExitCode}, timed out: {Make.TimedOut}):\n{Make.StandardOutput}\n{Make.StandardError}");
    }

    /// <summary>Runs another make target in guest/ (for example "check").</summary>
    public static Task<ProcessResult> RunMakeAsync(string target) =>
        ProcessRunner.RunAsync("make", ["-C", Path.Combine(RepositoryRoot.Path, "guest"), target], TimeSpan.FromMinutes(5));

    private static GuestBuild Build()
    {
        // Other engineers build on the same two cores, so allow plenty of time.
        var make = ProcessRunner.RunAsync("make", ["-C", Path.Combine(RepositoryRoot.Path, "guest"), "-j2"],
                                          TimeSpan.FromMinutes(5)).GetAwaiter().GetResult();
        return new GuestBuild(make);
    }
}
