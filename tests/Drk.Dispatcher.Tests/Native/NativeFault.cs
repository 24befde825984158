namespace Drk.Dispatcher.Tests.Native;

/// <summary>A fault the code under test raised on the host CPU, caught by <see cref="HostCpu"/>'s signal handlers.</summary>
public readonly record struct NativeFault(int Signal, ulong Rip, ulong TrapNumber, ulong ErrorCode)
{
    /// <summary>True when the case ran to its end.</summary>
    public bool None => Signal == 0;

    /// <inheritdoc />
    public override string ToString() => None ? "none" :
        $"{SignalName(Signal)} at rip={Rip:x} (trap {TrapNumber}{TrapName(TrapNumber)}, error code {ErrorCode:x})";

    private static string SignalName(int signal) => signal switch
    {
        4 => "SIGILL",
        5 => "SIGTRAP",
        7 => "SIGBUS",
        8 => "SIGFPE",
        11 => "SIGSEGV",
        _ => $"signal {signal}",
    };

    private static string TrapName(ulong trap) => trap switch
    {
        0 => " #DE",
        3 => " #BP",
        6 => " #UD",
        12 => " #SS",
        13 => " #GP",
        14 => " #PF",
        17 => " #AC",
        _ => "",
    };
}
