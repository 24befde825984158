namespace Drk.Dispatcher.Tests.Native;

/// <summary>ISA extensions an instruction form needs from the host CPU to run natively.</summary>
[Flags]
public enum HostFeature
{
    None = 0,
    Bmi1 = 1,
    Bmi2 = 2,
    Lzcnt = 4,
    Popcnt = 8,
}
