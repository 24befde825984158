using System.Buffers.Binary;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>Guest memory for unwinder tests: a few byte arrays at chosen virtual addresses, everything else unmapped.</summary>
internal sealed class SyntheticMemory
{
    private readonly List<(ulong Start, byte[] Bytes)> regions = new();

    /// <summary>Addresses the unwinder read, to check it reads nothing it should not.</summary>
    public List<ulong> Reads { get; } = new();

    public SyntheticMemory Map(ulong start, int size)
    {
        regions.Add((start, new byte[size]));
        return this;
    }

    public void Write(ulong address, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Slice(address, 8), value);

    public void WriteBytes(ulong address, params byte[] bytes) => bytes.CopyTo(Slice(address, bytes.Length));

    public bool Read(ulong address, out ulong value)
    {
        Reads.Add(address);
        Assert.Equal(0UL, address & 7);
        foreach (var (start, bytes) in regions)
        {
            if (address >= start && address - start <= (ulong)bytes.Length - 8)
            {
                value = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan((int)(address - start)));
                return true;
            }
        }
        value = 0;
        return false;
    }

    private Span<byte> Slice(ulong address, int length)
    {
        foreach (var (start, bytes) in regions)
            if (address >= start && address - start + (ulong)length <= (ulong)bytes.Length)
                return bytes.AsSpan((int)(address - start), length);
        throw new ArgumentOutOfRangeException(nameof(address), $"0x{address:x} is not mapped");
    }
}
