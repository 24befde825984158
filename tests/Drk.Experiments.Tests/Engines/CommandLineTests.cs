using Drk.Experiments.Engines;
using Drk.Experiments.Matrix;
using Drk.Experiments.Specs;

namespace Drk.Experiments.Tests.Engines;

public sealed class CommandLineTests
{
    private static RunRequest Request(Variant v) => new(
        v, new WorkloadSpec("pipe", "iterations=5"), new GuestImage("/g/kernel.elf", "/g/initrd", "quiet", "256M"),
        "quiet run=pipe iterations=5", TimeSpan.FromSeconds(10), 1000, null);

    [Fact]
    public void Drk_run_gets_the_documented_flags()
    {
        var args = DrkEngine.Arguments(Request(new Variant("drk", "jit", "inscount", "kernel+modules", 2)));

        Assert.Equal(
            ["run", "/g/kernel.elf", "--initrd", "/g/initrd", "--append", "quiet run=pipe iterations=5", "--smp", "2", "--memory", "256M",
             "--tier", "jit", "--tool", "inscount", "--scope", "kernel+modules", "--max-instructions", "1000", "--stats"],
            args);
    }

    [Fact]
    public void Without_a_tool_drk_run_gets_neither_tool_nor_scope()
    {
        var args = DrkEngine.Arguments(Request(new Variant("drk", "interp", "none", "", 1)));

        Assert.DoesNotContain("--tool", args);
        Assert.DoesNotContain("--scope", args);
    }

    [Fact]
    public void Qemu_boots_microvm_with_the_debug_exit_device()
    {
        var args = new QemuEngine(EngineKind.QemuTcg).Arguments(Request(new Variant("qemu-tcg", "", "", "", 2)));

        Assert.Equal(["-M", "microvm", "-nographic", "-no-reboot", "-accel", "tcg"], args.Take(6));
        Assert.Contains("isa-debug-exit,iobase=0xf4,iosize=0x04", args);
        Assert.Equal("2", args[args.ToList().IndexOf("-smp") + 1]);
        Assert.Equal("quiet run=pipe iterations=5", args[args.ToList().IndexOf("-append") + 1]);
    }

    [Fact]
    public void Qemu_kvm_uses_the_host_cpu() =>
        Assert.Contains("host", new QemuEngine(EngineKind.QemuKvm).Arguments(Request(new Variant("qemu-kvm", "", "", "", 1))));
}
