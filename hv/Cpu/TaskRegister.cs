namespace Drk.Hv.Cpu;

/// <summary>TR: the selector of the loaded 64-bit TSS and the base and limit cached from its descriptor.</summary>
public struct TaskRegister
{
    public ushort Selector;
    public ulong Base;
    public uint Limit;

    /// <inheritdoc />
    public override readonly string ToString() => $"{Selector:x4} {Base:x16}/{Limit:x}";
}
