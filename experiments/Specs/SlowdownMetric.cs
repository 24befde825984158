namespace Drk.Experiments.Specs;

/// <summary>The measured quantity whose ratio to the baseline is reported as the slowdown.</summary>
public enum SlowdownMetric
{
    /// <summary>Host wall time of the whole run (boot included): comparable across every engine.</summary>
    Wall,

    /// <summary>Guest-reported cycles of the workload alone: excludes boot, but under Drk the guest clock is
    /// virtual (driven by retired instructions), so only meaningful between QEMU and native.</summary>
    Cycles,

    /// <summary>Host CPU time of the engine process (user + system, boot included): comparable across engines like
    /// wall time, but far less disturbed by other work on the machine; needs <c>--jobs 1</c>.</summary>
    Cpu,
}
