namespace Drk.Hv.Devices;

/// <summary>A device answering IN and OUT on the ports it was registered for in an <see cref="IoPortBus"/>.</summary>
/// <remarks>Sizes are 1, 2 or 4 bytes. A device must not throw on any guest-chosen port, size or value.</remarks>
public interface IPortDevice
{
    /// <summary>IN from <paramref name="port"/>: the value read, zero-extended.</summary>
    uint Read(ushort port, int size);

    /// <summary>OUT of the low <paramref name="size"/> bytes of <paramref name="value"/> to <paramref name="port"/>.</summary>
    void Write(ushort port, int size, uint value);
}
