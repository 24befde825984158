namespace Drk.Hv.Cpu;

/// <summary>GDTR or IDTR: the linear base and the byte limit of a descriptor table.</summary>
public struct DescriptorTableRegister
{
    public ulong Base;
    public ushort Limit;

    public DescriptorTableRegister(ulong @base, ushort limit)
    {
        Base = @base;
        Limit = limit;
    }

    /// <inheritdoc />
    public override readonly string ToString() => $"{Base:x16}/{Limit:x4}";
}
