using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Drk.Dispatcher.Tests.Native;

/// <summary>What the test host can run natively: x86-64 Linux for the harness, plus optional ISA extensions.</summary>
public static class HostPlatform
{
    /// <summary>True when guest code can run natively in this process (x86-64 Linux).</summary>
    public static bool IsX64Linux =>
        RuntimeInformation.ProcessArchitecture == Architecture.X64 && OperatingSystem.IsLinux();

    /// <summary>The reason tests skip on other hosts, shown in the test run.</summary>
    public const string SkipReason = "native differential tests need an x86-64 Linux host";

    /// <summary>True when the host implements every extension in <paramref name="features"/>.</summary>
    public static bool Supports(HostFeature features) =>
        (!features.HasFlag(HostFeature.Bmi1) || Bmi1.IsSupported) &&
        (!features.HasFlag(HostFeature.Bmi2) || Bmi2.IsSupported) &&
        (!features.HasFlag(HostFeature.Lzcnt) || Lzcnt.IsSupported) &&
        (!features.HasFlag(HostFeature.Popcnt) || Popcnt.IsSupported);
}
