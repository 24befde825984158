using Drk.Dispatcher.Tools.Shadow;
using FsCheck;
using FsCheck.Fluent;

namespace Drk.Dispatcher.Tests.Tools.Shadow;

/// <summary>
/// FsCheck generators of <see cref="ShadowProgram"/>: three chunks and a partial fourth, with
/// addresses piled up around chunk boundaries and the end, lengths from one byte to more than a
/// chunk, and few distinct values so that range checks succeed as well as fail.
/// </summary>
public static class ShadowGenerators
{
    public const ulong GuestBytes = 3 * ShadowMemory.ChunkSize + 1000;

    public static Arbitrary<ShadowProgram> Programs() =>
        (from width in Gen.Elements(ShadowWidth.TwoBits, ShadowWidth.EightBits)
         from initial in Value(width)
         from operations in Gen.ArrayOf(Operation(width))
         select new ShadowProgram(width, GuestBytes, initial, operations)).ToArbitrary();

    private static Gen<ShadowOperation> Operation(ShadowWidth width) =>
        from kind in Gen.Frequency(
            (4, Gen.Constant(ShadowOperationKind.Set)),
            (3, Gen.Constant(ShadowOperationKind.SetPacked)),
            (2, Gen.Constant(ShadowOperationKind.Copy)),
            (1, Gen.Constant(ShadowOperationKind.Compact)),
            (2, Gen.Constant(ShadowOperationKind.Check)),
            (2, Gen.Constant(ShadowOperationKind.CheckAllowed)),
            (2, Gen.Constant(ShadowOperationKind.GetPacked)),
            (2, Gen.Constant(ShadowOperationKind.CheckAll)),
            (2, Gen.Constant(ShadowOperationKind.CheckAllowedRange)))
        from address in Address()
        from target in Address()
        from small in Gen.Choose(1, 8)
        from length in Length()
        from value in Value(width)
        from packed in Gen.ArrayOf(Value(width), 8)
        let isSmall = kind is ShadowOperationKind.SetPacked or ShadowOperationKind.Check or ShadowOperationKind.CheckAllowed or ShadowOperationKind.GetPacked
        let size = isSmall ? (ulong)small : length
        let start = Math.Min(address, GuestBytes - size)
        let destination = Math.Min(target, GuestBytes - size)
        select new ShadowOperation(kind, start, size, destination, value, Pack(packed, small));

    // Mostly within a few bytes of a chunk boundary or of the end, where the edge cases are.
    private static Gen<ulong> Address() => Gen.Frequency(
        (4, from chunk in Gen.Choose(0, 3)
            from delta in Gen.Choose(-24, 24)
            select (ulong)Math.Clamp((long)chunk * (long)ShadowMemory.ChunkSize + delta, 0, (long)GuestBytes - 1)),
        (1, from back in Gen.Choose(1, 40) select GuestBytes - (ulong)back),
        (2, from at in Gen.Choose(0, (int)GuestBytes - 1) select (ulong)at));

    private static Gen<ulong> Length() => Gen.Frequency(
        (3, Gen.Choose(1, 8).Select(n => (ulong)n)),
        (3, Gen.Choose(0, 300).Select(n => (ulong)n)),
        (1, Gen.Choose(0, (int)(2.5 * ShadowMemory.ChunkSize)).Select(n => (ulong)n)),
        (1, Gen.Constant(ShadowMemory.ChunkSize)));

    private static Gen<byte> Value(ShadowWidth width) => width == ShadowWidth.TwoBits
        ? Gen.Choose(0, 3).Select(v => (byte)v)
        : Gen.Frequency(
            (4, Gen.Elements<byte>(0, 1, 0x41, 0xff)),
            (1, Gen.Choose(0, 255).Select(v => (byte)v)));

    private static ulong Pack(byte[] values, int count)
    {
        ulong packed = 0;
        for (int i = 0; i < count; i++) packed |= (ulong)values[i] << (8 * i);
        return packed;
    }
}
