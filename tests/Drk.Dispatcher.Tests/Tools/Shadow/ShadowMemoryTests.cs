using Drk.Dispatcher.Tools.Shadow;

namespace Drk.Dispatcher.Tests.Tools.Shadow;

/// <summary>Chunk-boundary, uniform-chunk, statistics and contract cases of <see cref="ShadowMemory"/>.</summary>
public sealed class ShadowMemoryTests
{
    private const ulong Chunk = ShadowMemory.ChunkSize;
    private const ulong Guest256MiB = 256UL << 20;

    public static TheoryData<ShadowWidth> Widths => new() { ShadowWidth.TwoBits, ShadowWidth.EightBits };

    [Theory, MemberData(nameof(Widths))]
    public void UntouchedGuestCostsOnlyTheDirectoryAndOneUniformChunk(ShadowWidth width)
    {
        var shadow = new ShadowMemory(Guest256MiB, width, initial: 1);
        ShadowStatistics stats = shadow.Statistics;
        long chunkBytes = width == ShadowWidth.TwoBits ? (long)Chunk / 4 : (long)Chunk;
        Assert.Equal(4096, stats.Chunks);
        Assert.Equal(0, stats.MaterializedChunks);
        Assert.Equal(1, stats.UniformChunkValues);
        Assert.Equal(4096 * IntPtr.Size + chunkBytes, stats.HostBytes);
        Assert.Equal(1, shadow.Get(0));
        Assert.Equal(1, shadow.Get(Guest256MiB - 1));
        Assert.True(shadow.CheckAll(0, Guest256MiB, 1, out _));
    }

    [Theory, MemberData(nameof(Widths))]
    public void OneWriteMaterialisesOneChunkAndWritingTheUniformValueNone(ShadowWidth width)
    {
        var shadow = new ShadowMemory(Guest256MiB, width);
        shadow.Set(5 * Chunk + 17, 4, 0);
        shadow.SetPacked(6 * Chunk + 3, 8, 0);
        Assert.Equal(0, shadow.Statistics.MaterializedChunks);

        shadow.Set(5 * Chunk + 17, 4, 2);
        Assert.Equal(1, shadow.Statistics.MaterializedChunks);
        Assert.Equal(1, shadow.Statistics.Materializations);
        Assert.False(shadow.IsUniformChunk(5 * Chunk));
        Assert.True(shadow.IsUniformChunk(4 * Chunk));
        Assert.Equal(0, shadow.Get(5 * Chunk + 16));
        Assert.Equal(2, shadow.Get(5 * Chunk + 17));
        Assert.Equal(2, shadow.Get(5 * Chunk + 20));
        Assert.Equal(0, shadow.Get(5 * Chunk + 21));
    }

    [Theory, MemberData(nameof(Widths))]
    public void SettingWholeChunksReleasesThemWithoutMaterialising(ShadowWidth width)
    {
        var shadow = new ShadowMemory(Guest256MiB, width);
        shadow.Set(10, 1, 3);
        shadow.Set(3 * Chunk + 10, 1, 3);
        Assert.Equal(2, shadow.Statistics.MaterializedChunks);

        // Half a chunk, then chunks 1..3 whole, then half of chunk 4: only the two ends are filled in place.
        shadow.Set(Chunk / 2, 4 * Chunk, 3);
        ShadowStatistics stats = shadow.Statistics;
        Assert.Equal(2, stats.MaterializedChunks); // chunk 0 (mixed) and chunk 4 (half written); chunk 3 was released
        Assert.Equal(3, stats.Materializations);
        Assert.True(shadow.IsUniformChunk(3 * Chunk));
        Assert.False(shadow.IsUniformChunk(4 * Chunk));
        Assert.True(shadow.CheckAll(Chunk / 2, 4 * Chunk, 3, out _));
        Assert.False(shadow.CheckAll(0, Chunk, 3, out ulong firstMismatch));
        Assert.Equal(0UL, firstMismatch);
    }

    [Fact]
    public void ResettingAFourGiBGuestTakesNoChunkStorage()
    {
        var shadow = new ShadowMemory(4UL << 30, ShadowWidth.EightBits);
        shadow.Set(0, 4UL << 30, 0x41);
        shadow.Set(Chunk, 100 * Chunk, 0x42);
        ShadowStatistics stats = shadow.Statistics;
        Assert.Equal(0, stats.MaterializedChunks);
        Assert.Equal(3, stats.UniformChunkValues); // 0, 0x41, 0x42; the unused uniform chunk of 0 stays allocated
        Assert.Equal(0x42, shadow.Get(Chunk));
        Assert.Equal(0x41, shadow.Get(101 * Chunk));
        Assert.True(shadow.CheckAll(101 * Chunk, (4UL << 30) - 101 * Chunk, 0x41, out _));
        Assert.False(shadow.CheckAll(0, 4UL << 30, 0x41, out ulong first));
        Assert.Equal(Chunk, first);
    }

    [Theory, MemberData(nameof(Widths))]
    public void AccessesAcrossAChunkBoundarySeeBothChunks(ShadowWidth width)
    {
        var shadow = new ShadowMemory(4 * Chunk, width, initial: 3);
        ulong boundary = 2 * Chunk;
        // Bytes boundary-4..boundary+3: 3 3 3 3 | 1 3 3 3
        shadow.Set(boundary, 1, 1);
        Assert.True(shadow.Check(boundary - 4, 4, 3));
        Assert.False(shadow.Check(boundary - 4, 8, 3));
        Assert.False(shadow.Check(boundary - 1, 2, 3));
        Assert.True(shadow.Check(boundary + 1, 3, 3));
        Assert.True(shadow.CheckAllowed(boundary - 4, 8, 1));
        Assert.False(shadow.CheckAllowed(boundary - 4, 8, 2));
        Assert.Equal(0x0303_0301_0303_0303UL, shadow.GetPacked(boundary - 4, 8));

        shadow.SetPacked(boundary - 3, 6, 0x02_01_00_02_01_00);
        Assert.Equal(0x0302_0100_0201_0003UL, shadow.GetPacked(boundary - 4, 8));
        Assert.Equal(2, shadow.Get(boundary - 1));
        Assert.Equal(0, shadow.Get(boundary));
        Assert.False(shadow.CheckAll(boundary - 4, 8, 3, out ulong first));
        Assert.Equal(boundary - 3, first);
    }

    [Theory, MemberData(nameof(Widths))]
    public void EveryFastPathSizeAndAlignmentAgreesWithGet(ShadowWidth width)
    {
        // Near the start, the middle and the end of a chunk, every size 1..8 at every offset of a 16-byte window.
        var shadow = new ShadowMemory(2 * Chunk, width);
        var values = new byte[2 * Chunk];
        var random = new Random(6);
        foreach (ulong window in new[] { 0UL, Chunk / 2, Chunk - 16, Chunk - 8 })
            for (ulong i = 0; i < 32; i++)
            {
                byte v = (byte)random.Next(shadow.MaxValue + 1);
                shadow.Set(window + i, 1, v);
                values[window + i] = v;
            }
        foreach (ulong window in new[] { 0UL, Chunk / 2, Chunk - 16, Chunk - 8 })
            for (ulong pa = window; pa < window + 16; pa++)
                for (int size = 1; size <= 8; size++)
                {
                    ulong packed = 0;
                    bool allEqualFirst = true, allHaveBit0 = true;
                    for (int k = 0; k < size; k++)
                    {
                        packed |= (ulong)values[pa + (ulong)k] << (8 * k);
                        allEqualFirst &= values[pa + (ulong)k] == values[pa];
                        allHaveBit0 &= (values[pa + (ulong)k] & 1) != 0;
                    }
                    Assert.Equal(packed, shadow.GetPacked(pa, size));
                    Assert.Equal(allEqualFirst, shadow.Check(pa, size, values[pa]));
                    Assert.Equal(allHaveBit0, shadow.CheckAllowed(pa, size, 1));
                }
    }

    [Theory, MemberData(nameof(Widths))]
    public void CopyingUntouchedMemoryMaterialisesNothing(ShadowWidth width)
    {
        var shadow = new ShadowMemory(16 * Chunk, width, initial: 2);
        shadow.Set(8 * Chunk, 2 * Chunk, 1);
        shadow.Copy(8 * Chunk, 3 * Chunk + 5, 2 * Chunk);
        Assert.Equal(2, shadow.Statistics.MaterializedChunks); // the two partial ends of the destination
        Assert.True(shadow.CheckAll(3 * Chunk + 5, 2 * Chunk, 1, out _));
        Assert.Equal(2, shadow.Get(3 * Chunk + 4));
        Assert.Equal(2, shadow.Get(5 * Chunk + 5));

        shadow.Copy(0, 3 * Chunk, 3 * Chunk); // whole uniform chunks over materialised ones: released
        Assert.Equal(0, shadow.Statistics.MaterializedChunks);
        Assert.Equal(2, shadow.Statistics.Materializations); // chunks 3 and 5, never chunk 4
    }

    [Theory, MemberData(nameof(Widths))]
    public void CopyOfAMaterialisedWholeChunkIsIndependentOfItsSource(ShadowWidth width)
    {
        var shadow = new ShadowMemory(4 * Chunk, width);
        shadow.Set(100, 1, 3);
        shadow.Copy(0, 2 * Chunk, Chunk);
        shadow.Set(100, 1, 1);
        Assert.Equal(3, shadow.Get(2 * Chunk + 100));
        Assert.Equal(1, shadow.Get(100));
        Assert.Equal(2, shadow.Statistics.MaterializedChunks);
    }

    [Theory, MemberData(nameof(Widths))]
    public void OverlappingCopiesAreMemmoves(ShadowWidth width)
    {
        foreach (long shift in new long[] { 1, 3, 4, 7, -1, -5, -8, (long)Chunk - 3, -(long)Chunk + 2 })
        {
            var shadow = new ShadowMemory(4 * Chunk, width);
            var model = new byte[4 * Chunk];
            var random = new Random((int)shift + 100);
            ulong start = Chunk + Chunk / 2 - 10;
            for (ulong i = 0; i < Chunk + 40; i++)
            {
                byte v = (byte)random.Next(shadow.MaxValue + 1);
                shadow.Set(start + i, 1, v);
                model[start + i] = v;
            }
            ulong dst = (ulong)((long)start + shift);
            shadow.Copy(start, dst, Chunk + 20);
            Array.Copy(model, (long)start, model, (long)dst, (long)Chunk + 20);
            for (ulong pa = Chunk / 2; pa < 3 * Chunk + Chunk / 2; pa++)
                if (shadow.Get(pa) != model[pa])
                    Assert.Fail($"shift {shift}: byte 0x{pa:x} is {shadow.Get(pa)}, memmove gives {model[pa]}");
        }
    }

    [Theory, MemberData(nameof(Widths))]
    public void CompactReleasesChunksThatBecameUniform(ShadowWidth width)
    {
        var shadow = new ShadowMemory(8 * Chunk, width);
        shadow.Set(Chunk + 5, 10, 1);
        shadow.Set(2 * Chunk + 5, 10, 1);
        shadow.Set(Chunk + 5, 10, 0); // back to all 0, still materialised
        shadow.Set(2 * Chunk + 1, Chunk - 2, 1); // all 1 apart from the first and last byte
        Assert.Equal(2, shadow.Statistics.MaterializedChunks);

        Assert.Equal(1, shadow.Compact());
        Assert.True(shadow.IsUniformChunk(Chunk));
        Assert.False(shadow.IsUniformChunk(2 * Chunk));
        Assert.Equal(0, shadow.Get(Chunk + 7));
        Assert.Equal(1, shadow.Statistics.MaterializedChunks);
    }

    [Fact]
    public void AGuestSizeThatIsNotAWholeNumberOfChunksEndsExactly()
    {
        var shadow = new ShadowMemory(Chunk + 10, ShadowWidth.TwoBits);
        shadow.Set(Chunk + 2, 8, 2);
        Assert.True(shadow.Check(Chunk + 2, 8, 2));
        Assert.Equal(2, shadow.Statistics.Chunks);
        Assert.Throws<ArgumentOutOfRangeException>(() => shadow.Get(Chunk + 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => shadow.Check(Chunk + 3, 8, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => shadow.Set(Chunk, 11, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => shadow.CheckAll(0, Chunk + 11, 0, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => shadow.Copy(0, 10, Chunk + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => shadow.GetPacked(ulong.MaxValue - 2, 8));
    }

    [Fact]
    public void ValuesAndSizesOutsideTheContractAreRejected()
    {
        var two = new ShadowMemory(Chunk, ShadowWidth.TwoBits);
        Assert.Throws<ArgumentOutOfRangeException>(() => two.Set(0, 1, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => two.Set(0, 100, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => two.SetPacked(0, 2, 0x0400));
        Assert.Throws<ArgumentOutOfRangeException>(() => two.Check(0, 4, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => two.CheckAllowed(0, 4, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => two.Check(0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => two.GetPacked(0, 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ShadowMemory(Chunk, ShadowWidth.TwoBits, initial: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ShadowMemory(0, ShadowWidth.EightBits));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ShadowMemory(ShadowMemory.MaxGuestBytes + 1, ShadowWidth.EightBits));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ShadowMemory(Chunk, (ShadowWidth)4));
        Assert.Equal(0UL, two.GetPacked(0, 8)); // nothing was written by the rejected calls
    }

    [Theory, MemberData(nameof(Widths))]
    public void ChecksLongerThanEightBytesWork(ShadowWidth width)
    {
        var shadow = new ShadowMemory(2 * Chunk, width, initial: 1);
        Assert.True(shadow.Check(Chunk - 50, 100, 1));
        shadow.Set(Chunk + 49, 1, 0);
        Assert.False(shadow.Check(Chunk - 50, 100, 1));
        Assert.True(shadow.Check(Chunk - 50, 99, 1));
        Assert.False(shadow.CheckAllowed(Chunk - 50, 100, 1));
    }

    [Fact]
    public void PerAccessCallsDoNotAllocate()
    {
        var shadow8 = new ShadowMemory(4 * Chunk, ShadowWidth.EightBits);
        var shadow2 = new ShadowMemory(4 * Chunk, ShadowWidth.TwoBits);
        shadow8.Set(Chunk, 1, 1);
        shadow2.Set(Chunk, 1, 1);
        Exercise(shadow8, 1000);
        Exercise(shadow2, 1000);
        Assert.Equal(0, AllocationProbe.FewestBytes(() =>
        {
            Exercise(shadow8, 10_000);
            Exercise(shadow2, 10_000);
        }));

        static void Exercise(ShadowMemory shadow, int rounds)
        {
            bool sink = false;
            for (int i = 0; i < rounds; i++)
            {
                ulong pa = Chunk + (ulong)(i * 8 % 4096);
                sink ^= shadow.Check(pa, 8, 1) ^ shadow.CheckAllowed(pa + 1, 4, 1) ^ shadow.Check(pa + 3, 2, 0);
                shadow.SetPacked(pa, 4, 0x01_01_01_01);
                sink ^= shadow.GetPacked(pa, 8) == 0;
                shadow.Set(pa + 8, 2, 1);
            }
            GC.KeepAlive(sink);
        }
    }
}
