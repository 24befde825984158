namespace Drk.Dispatcher.Tools.Shadow;

/// <summary>
/// A per-byte condition the bulk scans of <see cref="ShadowMemory"/> look for the first violation of;
/// implemented by structs so each scan is specialised by the JIT (no delegate, no virtual call per word).
/// </summary>
internal interface IShadowTest
{
    /// <summary>True when one shadow value fails the test against <paramref name="operand"/>.</summary>
    static abstract bool Fails(byte value, byte operand);

    /// <summary>
    /// True when some byte of <paramref name="word"/> (eight host bytes of shadow) fails against
    /// <paramref name="broadcast"/>, the operand's host pattern repeated in every byte.
    /// </summary>
    static abstract bool WordFails(ulong word, ulong broadcast);
}
