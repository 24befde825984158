namespace Drk.Guest.Tests;

/// <summary>One guest boot in QEMU: its serial output and how it ended.</summary>
/// <param name="Process">The QEMU process's exit code, streams and timing.</param>
/// <param name="Serial">The serial console output with "\r\n" turned into "\n".</param>
public sealed record QemuRun(ProcessResult Process, string Serial)
{
    /// <summary>
    /// The status the guest wrote to isa-debug-exit (QEMU exits with 2 * status + 1), or null if
    /// QEMU ended another way (timeout, triple fault with -no-reboot, error).
    /// </summary>
    public int? GuestStatus => !Process.TimedOut && Process.ExitCode % 2 == 1 ? (Process.ExitCode - 1) / 2 : null;

    /// <summary>The serial output without the documented timing lines and fields, for run-to-run comparison.</summary>
    public string Deterministic => SerialOutput.WithoutTimingLinesAndFields(Serial);

    /// <summary>A summary for assertion messages: exit code, stderr and the serial output.</summary>
    public string Describe() =>
        $"QEMU exit code {Process.ExitCode}, timed out: {Process.TimedOut}, {Process.Elapsed.TotalSeconds:F2} s\n" +
        $"stderr:\n{Process.StandardError}\nserial:\n{Serial}";
}
