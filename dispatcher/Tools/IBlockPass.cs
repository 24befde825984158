namespace Drk.Dispatcher.Tools;

/// <summary>
/// A tool's instrumentation pass over each guest block that is in scope, in two phases modelled
/// on DynamoRIO's drmgr: every pass analyses the block, then every pass inserts.
/// </summary>
/// <remarks>
/// <para><b>Analysis</b> sees the block as lowered, before any tool inserted anything; it may
/// record what it decides in fields of its own (per block) but must not insert.</para>
/// <para><b>Insertion</b> adds meta ops at insertion points of the block
/// (<see cref="InstrumentedBlock.InsertBefore(InstrumentedInstruction)"/> and the others). Passes
/// insert in registration order; at one insertion point, a later pass's ops follow an earlier
/// pass's. Inserted ops see the guest values of the block's IR but never write guest state.</para>
/// <para>After insertion the framework optimises the whole block, tool ops included (constant
/// folding, dead-temp removal), then caches it. Both phases run once per translation: a block
/// that is translated again (its code changed, the cache was flushed) is instrumented again, so
/// passes must be deterministic.</para>
/// </remarks>
public interface IBlockPass
{
    /// <summary>Reads the block and decides; must not insert. The default does nothing.</summary>
    void Analyze(InstrumentedBlock block) { }

    /// <summary>Inserts the pass's meta ops into the block.</summary>
    void Insert(InstrumentedBlock block);
}
