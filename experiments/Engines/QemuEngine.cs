using System.Globalization;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Engines;

/// <summary>
/// Boots the guest in <c>qemu-system-x86_64 -M microvm</c>, with TCG (the reference binary translator) or KVM
/// (hardware speed: the "native" of a kernel). The guest reports its status through <c>isa-debug-exit</c>,
/// which makes QEMU exit with <c>2v+1</c> for a guest write of <c>v</c>.
/// </summary>
public sealed class QemuEngine(EngineKind kind, string qemu = "qemu-system-x86_64") : IRunEngine
{
    public string Name { get; } = kind is EngineKind.QemuTcg or EngineKind.QemuKvm
        ? KnownNames.NameOf(kind)
        : throw new ArgumentOutOfRangeException(nameof(kind), "QEMU runs with TCG or KVM");

    public Task<string?> CheckAvailabilityAsync(CancellationToken cancellation)
    {
        if (ExecutableSearch.Find(qemu) is null)
            return Task.FromResult<string?>($"{qemu} not found; install it with: apt-get install qemu-system-x86");
        if (kind == EngineKind.QemuKvm && !KvmUsable())
            return Task.FromResult<string?>("/dev/kvm is missing or not accessible (no hardware virtualisation here)");
        return Task.FromResult<string?>(null);
    }

    public async Task<EngineOutcome> RunAsync(RunRequest request, CancellationToken cancellation)
    {
        var result = await ChildProcess.RunAsync(qemu, Arguments(request), request.Timeout, cancellation).ConfigureAwait(false);
        if (result.StartError is not null)
            return new EngineOutcome { WallSeconds = 0, EngineFailure = result.StartError };

        // QEMU reports its own errors ("qemu-system-x86_64: -kernel: ...") on stderr with exit 1, which is also
        // what a guest status of 0 looks like; the message tells them apart. Warnings are not errors.
        var prefix = Path.GetFileName(qemu) + ":";
        var qemuError = result.Stderr.FirstOrDefault(l =>
            (l.StartsWith(prefix, StringComparison.Ordinal) || l.StartsWith("qemu:", StringComparison.Ordinal))
            && !l.Contains(": warning:", StringComparison.Ordinal));
        int? guestStatus = null;
        string? failure = null;
        switch (result.ExitCode)
        {
            case null:
                break;
            case 1 when qemuError is not null:
                failure = qemuError;
                break;
            case 0:
                failure = "QEMU exited 0: the guest reset or triple-faulted without writing a status to isa-debug-exit";
                break;
            case var code when code % 2 == 1:
                guestStatus = (code.Value - 1) / 2;
                break;
            case var code:
                failure = qemuError ?? $"QEMU exited with code {code} (killed or crashed)";
                break;
        }
        return new EngineOutcome
        {
            WallSeconds = result.WallSeconds,
            CpuSeconds = result.CpuSeconds,
            ExitCode = result.ExitCode,
            TimedOut = result.TimedOut,
            GuestStatus = guestStatus,
            EngineFailure = failure,
            Output = result.Stdout,
            Diagnostics = result.Stderr,
        };
    }

    /// <summary>The QEMU command line for a request (public so that reports and tests can show it).</summary>
    public IReadOnlyList<string> Arguments(RunRequest request)
    {
        var args = new List<string> { "-M", "microvm", "-nographic", "-no-reboot" };
        if (kind == EngineKind.QemuKvm) args.AddRange(["-accel", "kvm", "-cpu", "host"]);
        else args.AddRange(["-accel", "tcg"]);
        args.AddRange(["-kernel", request.Guest.Kernel]);
        if (request.Guest.Initrd is { } initrd) args.AddRange(["-initrd", initrd]);
        args.AddRange(["-append", request.CommandLine]);
        args.AddRange(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        args.AddRange(["-smp", request.Variant.Vcpus.ToString(CultureInfo.InvariantCulture)]);
        args.AddRange(["-m", request.Guest.Memory]);
        return args;
    }

    private static bool KvmUsable()
    {
        try
        {
            using var kvm = File.Open("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
