using Drk.Dispatcher.Execution;
using Drk.Guest.Tests;

namespace Drk.EndToEnd.Tests;

/// <summary>What one in-process guest run produced: the serial output, the run's result, the tools' printed output and the host's counters.</summary>
public sealed record ToolRunOutcome(string Description, string Serial, MachineRunResult Result, string ToolOutput, long BlocksInstrumented, long BlocksOutOfScope, int ModuleLoads)
{
    /// <summary>The serial output without <c>[t]</c> lines and <c>cycles=</c> values: what must be identical across tiers and tools.</summary>
    public string ComparableSerial => SerialOutput.WithoutTimingLinesAndFields(SerialOutput.Normalize(Serial));

    /// <summary>inscount's report (fails the test when inscount did not print one).</summary>
    public InsCountReport InsCount => InsCountReport.Parse(ToolOutput);

    /// <summary>The result, the end of the serial output and the tools' output, for assertion messages.</summary>
    public string Describe()
    {
        var serial = SerialOutput.Normalize(Serial);
        string tail = serial.Length > 2000 ? "..." + serial[^2000..] : serial;
        return $"{Description}: {Result.ReasonName} status {Result.ExitStatus} ({Result.Summary}), {Result.InstructionsRetired} instructions\n"
            + $"tools:\n{ToolOutput}\nserial (end):\n{tail}\n{Result.Dump}";
    }
}
