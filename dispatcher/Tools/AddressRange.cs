namespace Drk.Dispatcher.Tools;

/// <summary>A range of guest virtual addresses [Start, Start + Length).</summary>
public readonly record struct AddressRange(ulong Start, ulong Length)
{
    /// <summary>The first address past the range.</summary>
    public ulong End => Start + Length;

    /// <summary>True when <paramref name="address"/> lies in the range.</summary>
    public bool Contains(ulong address) => address - Start < Length;

    /// <inheritdoc />
    public override string ToString() => $"[0x{Start:x}, 0x{End:x})";
}
