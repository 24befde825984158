using System.Runtime.InteropServices;

namespace Drk.Dispatcher.IR;

/// <summary>
/// One IR operation: 24 bytes, a plain struct in a flat array so tiers walk it without pointers.
/// </summary>
/// <remarks>
/// Temps are numbered from 0 per block; <see cref="None"/> marks an absent operand or result.
/// <see cref="Guest"/> is the index of the guest instruction the op belongs to (in
/// <see cref="IrBlock.Instructions"/>); meta ops inserted by a tool carry the index of the
/// instruction they instrument.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
public struct IrOp
{
    /// <summary>Marks an absent temp.</summary>
    public const ushort None = ushort.MaxValue;

    public IrOpcode Code;
    /// <summary>Result type, or the access type of a Store.</summary>
    public IrType Type;
    /// <summary>Opcode-specific small operand: guest slot, condition, system op, vector, exit kind.</summary>
    public byte Aux;
    /// <summary>Set when a tool inserted the op (meta ops and their supporting arithmetic).</summary>
    public bool IsMeta;
    /// <summary>Index of the guest instruction this op came from.</summary>
    public ushort Guest;
    public ushort Dst;
    public ushort A;
    public ushort B;
    public ushort C;
    public ushort D;
    /// <summary>Constant, exit target RIP, callback number.</summary>
    public ulong Imm;

    /// <inheritdoc />
    public override readonly string ToString() => IrPrinter.FormatOp(this);
}
