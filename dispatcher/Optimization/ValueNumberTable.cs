using System.Numerics;
using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Optimization;

/// <summary>
/// The table behind <see cref="CommonSubexpressionElimination"/>: which temp already holds the value
/// of an op with these fields (opcode, type, aux, immediate and the four operands). An open-addressed
/// array reused from block to block and emptied by moving a stamp rather than by clearing.
/// </summary>
/// <remarks>
/// Building blocks is on the vCPU's path (a block is built when first reached, before it runs): a
/// <c>Dictionary</c> over a record-struct key made this pass half of the optimiser's time (its
/// generic hashing of eight fields and its comparer calls), about 6% of a block's whole build.
/// </remarks>
internal sealed class ValueNumberTable
{
    private struct Entry
    {
        public ulong Imm;
        public ulong Operands;
        public uint Head;
        public uint Stamp;
        public ushort Temp;
    }

    private Entry[] _entries = new Entry[256];
    private int _mask = 255;
    private uint _stamp;

    /// <summary>Empties the table for a block of <paramref name="opCount"/> ops (at most that many entries).</summary>
    public void Reset(int opCount)
    {
        // At most half full, so probe sequences stay short.
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, opCount * 2));
        if (size > _entries.Length)
        {
            _entries = new Entry[size];
            _stamp = 0;
        }
        _mask = size - 1;
        if (++_stamp == 0)
        {
            // The stamp wrapped: entries left from 2^32 blocks ago would look current.
            Array.Clear(_entries);
            _stamp = 1;
        }
    }

    /// <summary>
    /// The temp recorded for an op with these fields, or <paramref name="temp"/> recorded for them
    /// (and <see cref="IrOp.None"/> returned) when there is none yet.
    /// </summary>
    public ushort FindOrAdd(IrOpcode code, IrType type, byte aux, ulong imm, ushort a, ushort b, ushort c, ushort d, ushort temp)
    {
        uint head = (uint)code | (uint)type << 8 | (uint)aux << 16;
        ulong operands = a | (ulong)b << 16 | (ulong)c << 32 | (ulong)d << 48;
        ulong hash = (imm * 0x9E37_79B9_7F4A_7C15UL) ^ (operands * 0xC2B2_AE3D_27D4_EB4FUL) ^ (head * 0x1656_67B1UL);
        int i = (int)(hash >> 40) & _mask;
        var entries = _entries;
        while (true)
        {
            ref var e = ref entries[i];
            if (e.Stamp != _stamp)
            {
                e.Imm = imm;
                e.Operands = operands;
                e.Head = head;
                e.Temp = temp;
                e.Stamp = _stamp;
                return IrOp.None;
            }
            if (e.Head == head && e.Operands == operands && e.Imm == imm) return e.Temp;
            i = (i + 1) & _mask;
        }
    }
}
