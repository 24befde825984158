namespace Drk.Cli.Bench;

/// <summary>Which guest memory the interpreter benchmark runs over.</summary>
internal enum BenchMemory
{
    /// <summary><c>Drk.Hv.Memory.FlatMemory</c>: identity-mapped regions searched per access (the tests' memory).</summary>
    Flat,
    /// <summary>The hypervisor's path: RAM behind the long-mode page walk and the soft TLB (<c>Drk.Hv.Memory.Mmu</c>).</summary>
    Mmu,
}
