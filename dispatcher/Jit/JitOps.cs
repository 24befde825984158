using System.Numerics;
using System.Runtime.CompilerServices;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// Small value operations that compiled blocks call and RyuJIT inlines (the width arguments are
/// constants there, so the branches fold). Each is written to give exactly what
/// <see cref="IR.IrEvaluator.TryEvaluate"/> gives for the same op, as the interpreter computes it.
/// </summary>
internal static class JitOps
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Ctz(ulong a, int bits) => a == 0 ? (ulong)bits : (ulong)BitOperations.TrailingZeroCount(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Clz(ulong a, int bits) => a == 0 ? (ulong)bits : (ulong)(BitOperations.LeadingZeroCount(a) - (64 - bits));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RotateLeft(ulong a, ulong b, int bits, ulong mask) => Rotate(a, (int)(b % (uint)bits), bits, mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RotateRight(ulong a, ulong b, int bits, ulong mask) =>
        Rotate(a, (int)((uint)(bits - (int)(b % (uint)bits)) % (uint)bits), bits, mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Rotate(ulong a, int count, int bits, ulong mask) =>
        count == 0 ? a : ((a << count) | (a >> (bits - count))) & mask;
}
