namespace Drk.Dispatcher.IR;

/// <summary>A reference to an SSA temp of a block under construction: its number and type.</summary>
public readonly record struct IrValue(ushort Id, IrType Type)
{
    /// <summary>The absent value (an unused operand).</summary>
    public static readonly IrValue None = new(IrOp.None, IrType.I64);

    public bool IsNone => Id == IrOp.None;

    /// <inheritdoc />
    public override string ToString() => IsNone ? "_" : $"t{Id}";
}
