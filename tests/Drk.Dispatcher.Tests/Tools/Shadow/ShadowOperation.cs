namespace Drk.Dispatcher.Tests.Tools.Shadow;

/// <summary>
/// One generated call: <see cref="Address"/> and <see cref="Length"/> for every range call,
/// <see cref="Target"/> the destination of a copy, <see cref="Value"/> the value or mask,
/// <see cref="Packed"/> the values of a SetPacked.
/// </summary>
public sealed record ShadowOperation(ShadowOperationKind Kind, ulong Address, ulong Length, ulong Target, byte Value, ulong Packed)
{
    public override string ToString() => Kind switch
    {
        ShadowOperationKind.Copy => $"Copy(0x{Address:x} -> 0x{Target:x}, {Length})",
        ShadowOperationKind.SetPacked => $"SetPacked(0x{Address:x}, {Length}, 0x{Packed:x})",
        ShadowOperationKind.Compact => "Compact()",
        _ => $"{Kind}(0x{Address:x}, {Length}, {Value})",
    };
}
