namespace Drk.Cli.Bench;

/// <summary>One measured run of a workload: wall time, CPU time of the whole process (all threads: the vCPUs, the JIT compiler; for QEMU, its process), guest instructions, compile time, and the normalised serial output (to check determinism).</summary>
internal sealed record SuiteRun(TimeSpan Wall, TimeSpan Cpu, ulong Instructions, TimeSpan CompileTime, string Output, bool Succeeded, string Failure = "")
{
    /// <summary>Guest instructions per microsecond of wall time.</summary>
    public double Mips => Wall.TotalSeconds > 0 ? Instructions / Wall.TotalSeconds / 1e6 : 0;
}
