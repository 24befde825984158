namespace Drk.Dispatcher.IR;

/// <summary>The type of an IR value: an integer of 1, 8, 16, 32 or 64 bits.</summary>
/// <remarks>Values are held zero-extended in 64-bit slots by every tier; I1 is 0 or 1.</remarks>
public enum IrType : byte
{
    I1 = 0,
    I8 = 1,
    I16 = 2,
    I32 = 3,
    I64 = 4,
}
