using System.Reflection.Emit;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// Guest slots held in IL locals across the blocks of one trace, written through: a write goes to
/// the local and to the slot, a read takes the local where it is known to hold the slot's value.
/// </summary>
/// <remarks>
/// <para>
/// Every write still reaches the slot, so whatever leaves the method or looks at the state (an
/// exit, a fault, the interpreter that finishes a block after a TLB miss, a system instruction, a
/// tool's callback) sees exactly the state the interpreter would; only reads are saved. A block
/// knows which locals hold their slot's value (a bit mask, <see cref="Mask"/>): at its start, those
/// of the slots it reads before writing them (<see cref="IlBlockEmitter.EntryReads"/>), which every
/// jump into the block makes valid (loading from the slot the ones the jumping block does not
/// hold); then every read or write of a slot makes its local valid, and every call that may write
/// slots by itself (system instructions, tool callbacks) makes all of them invalid.
/// </para>
/// <para>
/// So no block loads more slots than it did alone, and a value that goes from one block to the
/// next, or round a loop inside the trace, stays in a local: RyuJIT can keep it in a register,
/// because nothing on the trace's hot paths calls out (TLB misses leave the method).
/// </para>
/// </remarks>
internal sealed class TraceSlotCache
{
    private readonly ILGenerator _il;
    private readonly LocalBuilder?[] _locals = new LocalBuilder?[GuestReg.Count];

    public TraceSlotCache(ILGenerator il) => _il = il;

    /// <summary>Whether <paramref name="slot"/> may be cached: every slot but RIP, which the trace's exits store themselves.</summary>
    public static bool Cacheable(int slot) => (uint)slot < GuestReg.Count && slot != GuestReg.Rip;

    /// <summary>The bit of <paramref name="slot"/> in a mask of valid locals.</summary>
    public static uint Mask(int slot) => 1u << slot;

    /// <summary>The local that caches <paramref name="slot"/>.</summary>
    public LocalBuilder Local(int slot) => _locals[slot] ??= _il.DeclareLocal(typeof(ulong));

    /// <summary>Loads the slots in <paramref name="mask"/> into their locals (<paramref name="slots"/> is the <c>ref ulong</c> to slot 0).</summary>
    public void Load(uint mask, LocalBuilder slots)
    {
        for (int slot = 0; mask != 0; slot++, mask >>= 1)
        {
            if ((mask & 1) == 0) continue;
            IlBlockEmitter.EmitSlotAddress(_il, slots, slot);
            _il.Emit(OpCodes.Ldind_I8);
            _il.Emit(OpCodes.Stloc, Local(slot));
        }
    }
}
