namespace Drk.Experiments.Specs;

/// <summary>What executes the guest: Drk itself or a comparison engine.</summary>
public enum EngineKind
{
    /// <summary><c>drk run</c>: the only engine with tiers, tools and scopes.</summary>
    Drk,

    /// <summary>QEMU with its TCG binary translator: the reference emulator.</summary>
    QemuTcg,

    /// <summary>QEMU on KVM: the guest at hardware speed, the closest thing to native for a kernel.</summary>
    QemuKvm,

    /// <summary>A host build of the workload, run as an ordinary process.</summary>
    Native,
}
