namespace Drk.Dispatcher.Flags;

/// <summary>Packs and unpacks cc_op values: <c>(FlagsKind &lt;&lt; 2) | log2(size in bytes)</c>.</summary>
public static class FlagsOps
{
    /// <summary>The cc_op value for <paramref name="kind"/> at an operand size of <paramref name="bytes"/> (1, 2, 4, 8).</summary>
    public static ulong Make(FlagsKind kind, int bytes) => ((ulong)kind << 2) | bytes switch
    {
        1 => 0UL,
        2 => 1UL,
        4 => 2UL,
        8 => 3UL,
        _ => throw new ArgumentOutOfRangeException(nameof(bytes)),
    };

    public static FlagsKind Kind(ulong ccOp) => (FlagsKind)(ccOp >> 2);

    /// <summary>Operand width in bits (8, 16, 32, 64).</summary>
    public static int Bits(ulong ccOp) => 8 << (int)(ccOp & 3);

    /// <summary>The value of cc_op that means "dep1 holds the flags" (<see cref="FlagsKind.Copy"/>).</summary>
    public const ulong Copy = 0;

    /// <summary>Whether <see cref="FlagsCalculator"/> reads dep2 for <paramref name="kind"/> (the second operand, the carry-out or the high half); when not, lowering leaves the slot as it was.</summary>
    public static bool ReadsDep2(FlagsKind kind) => kind is not (FlagsKind.Copy or FlagsKind.Logic or FlagsKind.Inc or FlagsKind.Dec or FlagsKind.Rol or FlagsKind.Ror);

    /// <summary>Whether <see cref="FlagsCalculator"/> reads ndep for <paramref name="kind"/> (the carry-in, or flags kept from before); when not, lowering leaves the slot as it was.</summary>
    public static bool ReadsNdep(FlagsKind kind) => kind is FlagsKind.Adc or FlagsKind.Sbb or FlagsKind.Inc or FlagsKind.Dec or FlagsKind.Rol or FlagsKind.Ror;
}
