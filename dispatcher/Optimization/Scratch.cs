namespace Drk.Dispatcher.Optimization;

/// <summary>Per-pass working arrays reused from block to block, so optimising a block allocates little.</summary>
internal static class Scratch
{
    /// <summary>The first <paramref name="length"/> elements of <paramref name="buffer"/>, cleared; the buffer grows when too small.</summary>
    public static Span<T> Take<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new T[Math.Max(length, buffer.Length * 2)];
        var span = buffer.AsSpan(0, length);
        span.Clear();
        return span;
    }
}
