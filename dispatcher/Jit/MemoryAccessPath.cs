namespace Drk.Dispatcher.Jit;

/// <summary>How compiled loads and stores reach guest memory, chosen by the memory's concrete type.</summary>
internal enum MemoryAccessPath : byte
{
    /// <summary>An <see cref="Hv.Memory.Mmu"/>: the soft-TLB fast path inline, <c>Mmu.Read/Write</c> (direct calls) on a miss.</summary>
    Mmu,
    /// <summary>A <see cref="Hv.Memory.FlatMemory"/>: direct calls, which RyuJIT need not dispatch.</summary>
    Flat,
    /// <summary>Any other <see cref="Hv.Memory.IGuestMemory"/>: interface calls.</summary>
    Interface,
}
