namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// Random operand values with the edge cases mixed in that break arithmetic lowerings: 0, 1, -1,
/// the sign boundaries 0x7f../0x80.., single bits, alternating patterns; and shift counts 0, 1,
/// width-1, width, width+1 and counts of 64 and more.
/// </summary>
public static class EdgeValues
{
    /// <summary>A uniformly random 64-bit value.</summary>
    public static ulong NextUInt64(Random rng) => ((ulong)(uint)rng.Next() << 33) ^ ((ulong)(uint)rng.Next() << 12) ^ (uint)rng.Next();

    /// <summary>All ones in the low <paramref name="bits"/> bits.</summary>
    public static ulong Mask(int bits) => bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;

    /// <summary>A value of <paramref name="bits"/> bits (8, 16, 32, 64), edge cases about half the time.</summary>
    public static ulong Value(Random rng, int bits)
    {
        ulong mask = Mask(bits);
        ulong sign = 1UL << (bits - 1);
        ulong v = rng.Next(16) switch
        {
            0 => 0,
            1 => 1,
            2 => mask,                       // -1
            3 => sign - 1,                   // max signed
            4 => sign,                       // min signed
            5 => sign + (ulong)rng.Next(1, 3), // just above min signed
            6 => sign - (ulong)rng.Next(2, 4), // just below max signed
            7 => 1UL << rng.Next(bits),      // one bit
            8 => mask ^ (1UL << rng.Next(bits)), // all bits but one
            9 => (ulong)rng.Next(0, 256),    // small
            10 => (ulong)(-(long)rng.Next(1, 256)), // small negative
            11 => rng.Next(2) == 0 ? 0x5555_5555_5555_5555UL : 0xAAAA_AAAA_AAAA_AAAAUL,
            12 => mask - 1,
            _ => NextUInt64(rng),
        };
        return v & mask;
    }

    /// <summary>
    /// A shift or rotate count for an operand of <paramref name="bits"/> bits as CL or imm8 holds
    /// it (before the CPU masks it to 5 or 6 bits): the masked-to-zero and the >= width cases included.
    /// </summary>
    public static byte ShiftCount(Random rng, int bits) => rng.Next(14) switch
    {
        0 => 0,
        1 => 1,
        2 => (byte)(bits - 1),
        3 => (byte)bits,
        4 => (byte)(bits + 1),
        5 => 31,
        6 => 32,
        7 => 33,
        8 => 63,
        9 => 64,
        10 => (byte)rng.Next(65, 256),
        11 => (byte)rng.Next(2, bits),
        _ => (byte)rng.Next(256),
    };

    /// <summary>A bit index for BT-family immediates and BZHI: inside, at and beyond the operand width.</summary>
    public static byte BitIndex(Random rng, int bits) => rng.Next(10) switch
    {
        0 => 0,
        1 => (byte)(bits - 1),
        2 => (byte)bits,
        3 => (byte)(bits + 1),
        4 => 63,
        5 => 64,
        6 => 255,
        7 => (byte)rng.Next(256),
        _ => (byte)rng.Next(bits),
    };

    /// <summary>The six arithmetic flags at random, DF at random, bit 1 and IF set (as a user-mode RFLAGS reads).</summary>
    public static ulong Rflags(Random rng)
    {
        ulong f = 0x202;
        foreach (var (bit, _) in Native.CpuRegisters.FlagBits)
            if (rng.Next(2) == 0) f |= bit;
        return f;
    }
}
