namespace Drk.Hv.Devices;

/// <summary>
/// QEMU's <c>isa-debug-exit</c> device (iobase 0xf4, iosize 4): a guest write of v stops the
/// machine with exit status v. (QEMU itself exits with 2v+1; the CLI decides what the host sees.)
/// </summary>
public sealed class IsaDebugExit : IPortDevice
{
    /// <summary>The conventional I/O base.</summary>
    public const ushort DefaultPort = 0xF4;
    /// <summary>Ports answered, from the base.</summary>
    public const int PortCount = 4;

    private readonly MachineStop _stop;

    public IsaDebugExit(MachineStop stop) => _stop = stop;

    /// <inheritdoc />
    public uint Read(ushort port, int size) => 0;

    /// <inheritdoc />
    public void Write(ushort port, int size, uint value) =>
        _stop.Request(MachineStopReason.DebugExit, (int)value, $"guest wrote {value:x} to isa-debug-exit");
}
