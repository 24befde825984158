namespace Drk.Dispatcher.Tools;

/// <summary>An insertion-only block pass made from a method.</summary>
internal sealed class DelegateBlockPass(Action<InstrumentedBlock> insert) : IBlockPass
{
    public void Insert(InstrumentedBlock block) => insert(block);
}
