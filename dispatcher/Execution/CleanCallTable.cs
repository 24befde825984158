namespace Drk.Dispatcher.Execution;

/// <summary>
/// The tool callbacks that <see cref="IR.IrOpcode.CleanCall"/> ops invoke, by number (the op's
/// Imm). Registration happens while tools start; lookups on the execution path are an array index.
/// </summary>
public sealed class CleanCallTable
{
    private Action<ulong, ulong, ulong, ulong>?[] _callbacks = new Action<ulong, ulong, ulong, ulong>?[16];

    /// <summary>Number of registered callbacks (numbers are 0..Count-1).</summary>
    public int Count { get; private set; }

    /// <summary>Registers <paramref name="callback"/> and returns the number a CleanCall op names it by.</summary>
    public ulong Register(Action<ulong, ulong, ulong, ulong> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (Count == _callbacks.Length) Array.Resize(ref _callbacks, Count * 2);
        _callbacks[Count] = callback;
        return (ulong)Count++;
    }

    /// <summary>Calls callback <paramref name="number"/>; an unregistered number is a tool bug.</summary>
    public void Invoke(ulong number, ulong a, ulong b, ulong c, ulong d)
    {
        if (number >= (ulong)Count)
            throw new InvalidOperationException($"clean call #{number} is not registered ({Count} callbacks)");
        _callbacks[number]!(a, b, c, d);
    }
}
