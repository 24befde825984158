namespace Drk.Hv.Devices;

/// <summary>
/// The 64 Ki I/O ports: each port is answered by the device registered for it, or reads as
/// all-ones and ignores writes, logged once per port.
/// </summary>
public sealed class IoPortBus
{
    private readonly IPortDevice?[] _devices = new IPortDevice?[0x10000];
    private readonly UnhandledAccessLog _log;

    public IoPortBus(UnhandledAccessLog? log = null) => _log = log ?? new UnhandledAccessLog();

    /// <summary>Registers <paramref name="device"/> for ports [<paramref name="first"/>, +<paramref name="count"/>).</summary>
    /// <exception cref="ArgumentException">A port in the range is already taken or the range leaves the port space.</exception>
    public void Register(ushort first, int count, IPortDevice device)
    {
        if (count <= 0 || first + count > 0x10000)
            throw new ArgumentException($"port range {first:x}+{count} is outside the port space");
        for (int p = first; p < first + count; p++)
            if (_devices[p] != null) throw new ArgumentException($"port {p:x} is already registered");
        for (int p = first; p < first + count; p++) _devices[p] = device;
    }

    /// <summary>The device answering <paramref name="port"/>, if any.</summary>
    public IPortDevice? DeviceAt(ushort port) => _devices[port];

    /// <summary>IN of <paramref name="size"/> bytes from <paramref name="port"/>.</summary>
    public uint Read(ushort port, int size)
    {
        uint mask = size >= 4 ? uint.MaxValue : (1u << (8 * size)) - 1;
        var device = _devices[port];
        if (device == null)
        {
            _log.Note("port read", port);
            return mask;
        }
        return device.Read(port, size) & mask;
    }

    /// <summary>OUT of <paramref name="size"/> bytes to <paramref name="port"/>.</summary>
    public void Write(ushort port, int size, uint value)
    {
        uint mask = size >= 4 ? uint.MaxValue : (1u << (8 * size)) - 1;
        var device = _devices[port];
        if (device == null)
        {
            _log.Note("port write", port);
            return;
        }
        device.Write(port, size, value & mask);
    }
}
