namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>
/// The kernel and module objects of guest/build, read once into memory and copied to a private
/// directory, so the oracles (readelf, addr2line) and the readers see the same bytes even if
/// another engineer rebuilds the guest meanwhile.
/// </summary>
internal sealed class GuestObjects
{
    private static readonly Lazy<GuestObjects> shared = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private GuestObjects(string kernelPath, byte[] kernel, IReadOnlyList<GuestModuleObject> modules)
    {
        KernelPath = kernelPath;
        Kernel = kernel;
        Modules = modules;
    }

    /// <summary>A private copy of kernel.elf, for the oracles.</summary>
    public string KernelPath { get; }

    /// <summary>The bytes of <see cref="KernelPath"/>.</summary>
    public byte[] Kernel { get; }

    /// <summary>Every module object the Makefile builds for the initrd (built from C), except the deliberately truncated one.</summary>
    public IReadOnlyList<GuestModuleObject> Modules { get; }

    /// <summary>Skips without binutils; builds the guest with make if it was never built.</summary>
    public static GuestObjects Require()
    {
        ExternalCommand.Require("readelf", "addr2line");
        var build = BuildDirectory();
        Skip.If(build is null, "no Drk.sln above the test directory");
        if (!File.Exists(Path.Combine(build!, "kernel.elf")) || !File.Exists(Path.Combine(build!, "modules", "good.o")))
            ExternalCommand.Require("make", "gcc", "ld", "nm", "objdump", "ar", "objcopy");
        return shared.Value;
    }

    /// <summary>guest/build of this checkout, or null.</summary>
    public static string? BuildDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Drk.sln")))
                return Path.Combine(dir.FullName, "guest", "build");
        return null;
    }

    private static GuestObjects Load()
    {
        var build = BuildDirectory()!;
        if (!File.Exists(Path.Combine(build, "kernel.elf")) || !File.Exists(Path.Combine(build, "modules", "good.o")))
            ExternalCommand.Run("make", ["-C", Path.GetDirectoryName(build)!, "-j2"]);

        var copy = Path.Combine(Path.GetTempPath(), $"drk-symbols-{Environment.ProcessId}");
        Directory.CreateDirectory(copy);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(copy, recursive: true); } catch (IOException) { }
        };
        var kernel = File.ReadAllBytes(Path.Combine(build, "kernel.elf"));
        var kernelPath = Path.Combine(copy, "kernel.elf");
        File.WriteAllBytes(kernelPath, kernel);

        var modules = new List<GuestModuleObject>();
        foreach (var path in Directory.GetFiles(Path.Combine(build, "modules"), "*.o").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            // bad_truncated.o is cut short on purpose; compute-*.o are the halves linked into compute.o.
            if (name == "bad_truncated" || name.StartsWith("compute-", StringComparison.Ordinal))
                continue;
            var bytes = File.ReadAllBytes(path);
            var privatePath = Path.Combine(copy, name + ".o");
            File.WriteAllBytes(privatePath, bytes);
            modules.Add(new GuestModuleObject(name, privatePath, bytes));
        }
        return new GuestObjects(kernelPath, kernel, modules);
    }
}
