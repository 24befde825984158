namespace Drk.Experiments.Tests.Fakes;

/// <summary>Spec texts shared by tests.</summary>
internal static class Specs
{
    /// <summary>Two workloads, Drk with two tools on one tier, baseline: no tool. 3 variants x 2 workloads x (1 + 3) runs = 24.</summary>
    public const string Small = """
        name: small
        guest:
          kernel: ../guest/build/kernel.elf
          initrd: ../guest/build/initrd
          append: quiet
        workloads: [alpha, beta]
        engines: [drk]
        tiers: [jit]
        tools: [none, null, inscount]
        scopes: [kernel]
        baseline: {tool: none}
        repetitions: 3
        warmup: 1
        timeout: 30s
        """;
}
