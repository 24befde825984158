namespace Drk.Hv.Devices;

/// <summary>
/// The two 8259A interrupt controllers at ports 0x20/0x21 and 0xA0/0xA1, reduced to what a
/// guest that routes everything through the local APIC does with them: the ICW1-ICW4
/// initialisation sequence and the mask register. They never raise an interrupt.
/// </summary>
public sealed class LegacyPic : IPortDevice
{
    public const ushort MasterCommand = 0x20, MasterData = 0x21, SlaveCommand = 0xA0, SlaveData = 0xA1;

    private readonly Chip _master = new(), _slave = new();

    private sealed class Chip
    {
        public byte Mask = 0xFF;
        public byte VectorBase;
        /// <summary>0 when idle, otherwise the next ICW (2, 3 or 4) the data port expects.</summary>
        public int ExpectedIcw;
        public bool NeedsIcw4;
        public bool Single;
    }

    /// <summary>Registers both chips' ports on <paramref name="bus"/>.</summary>
    public void Attach(IoPortBus bus)
    {
        bus.Register(MasterCommand, 2, this);
        bus.Register(SlaveCommand, 2, this);
    }

    /// <summary>The master's interrupt mask register (bit n masks IRQ n).</summary>
    public byte MasterMask => _master.Mask;

    /// <summary>The slave's interrupt mask register (bit n masks IRQ 8+n).</summary>
    public byte SlaveMask => _slave.Mask;

    /// <summary>The vector base programmed by ICW2 into the master.</summary>
    public byte MasterVectorBase => _master.VectorBase;

    /// <summary>The vector base programmed by ICW2 into the slave.</summary>
    public byte SlaveVectorBase => _slave.VectorBase;

    private Chip ChipFor(ushort port) => (port & 0x80) != 0 ? _slave : _master;

    /// <inheritdoc />
    public uint Read(ushort port, int size)
    {
        var chip = ChipFor(port);
        // IRR and ISR (whichever OCW3 selected) are always empty: nothing is ever requested.
        return (port & 1) != 0 ? chip.Mask : 0u;
    }

    /// <inheritdoc />
    public void Write(ushort port, int size, uint value)
    {
        var chip = ChipFor(port);
        byte v = (byte)value;
        if ((port & 1) == 0)
        {
            if ((v & 0x10) != 0)
            {
                // ICW1 restarts initialisation; the mask is cleared as on the real part.
                chip.Mask = 0;
                chip.NeedsIcw4 = (v & 1) != 0;
                chip.Single = (v & 2) != 0;
                chip.ExpectedIcw = 2;
            }
            // OCW2 (EOI, rotation) and OCW3 (register select) need no state here.
            return;
        }
        switch (chip.ExpectedIcw)
        {
            case 2:
                chip.VectorBase = (byte)(v & 0xF8);
                chip.ExpectedIcw = !chip.Single ? 3 : chip.NeedsIcw4 ? 4 : 0;
                break;
            case 3:
                chip.ExpectedIcw = chip.NeedsIcw4 ? 4 : 0;
                break;
            case 4:
                chip.ExpectedIcw = 0;
                break;
            default:
                chip.Mask = v;
                break;
        }
    }
}
