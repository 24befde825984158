using System.Runtime.CompilerServices;

namespace Drk.Dispatcher.IR;

/// <summary>Facts about <see cref="IrType"/>: widths, masks, sign bits, conversion from byte sizes.</summary>
public static class IrTypes
{
    // Constant bytes in the assembly, not a static array or a switch: the interpreter's and the
    // evaluator's hot paths read it per op, and with tiered compilation off a static array costs a
    // class-initialisation test and an array load at every use (a span literal of wider elements
    // would allocate per access in Debug builds).
    private static ReadOnlySpan<byte> BitsByType => [1, 8, 16, 32, 64];

    /// <summary>Width in bits (1, 8, 16, 32, 64).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Bits(IrType t) => (uint)t < 5 ? BitsByType[(int)t] : 64;

    /// <summary>Width in bytes of a memory access of this type (I1 is not a memory type).</summary>
    public static int Bytes(IrType t) => t switch
    {
        IrType.I8 => 1,
        IrType.I16 => 2,
        IrType.I32 => 4,
        IrType.I64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "I1 has no size in bytes"),
    };

    /// <summary>The integer type of a memory access of <paramref name="bytes"/> bytes.</summary>
    public static IrType FromBytes(int bytes) => bytes switch
    {
        1 => IrType.I8,
        2 => IrType.I16,
        4 => IrType.I32,
        8 => IrType.I64,
        _ => throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "access size must be 1, 2, 4 or 8"),
    };

    /// <summary>All-ones mask of the type's width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mask(IrType t) => ulong.MaxValue >> (64 - Bits(t));

    /// <summary>The sign bit of the type's width.</summary>
    public static ulong SignBit(IrType t) => 1UL << (Bits(t) - 1);

    /// <summary>Short name as the printer shows it ("i32").</summary>
    public static string Name(IrType t) => t switch
    {
        IrType.I1 => "i1",
        IrType.I8 => "i8",
        IrType.I16 => "i16",
        IrType.I32 => "i32",
        _ => "i64",
    };
}
