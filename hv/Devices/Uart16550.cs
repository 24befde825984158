namespace Drk.Hv.Devices;

/// <summary>
/// A 16550A UART (COM1 at 0x3f8 by default): transmitted bytes go to an output stream, received
/// bytes come from an input stream or <see cref="QueueInput"/>. The transmitter is always empty
/// (output is instantaneous); the receiver holds one byte at a time.
/// </summary>
/// <remarks>
/// The UART raises no interrupts (there is no I/O APIC yet): guests poll LSR. The loopback mode
/// of MCR works, because Linux's 8250 probe relies on it. Divisor, line control and scratch
/// registers read back what was written. The input stream is read only when the guest polls,
/// so it should be a file or pipe; an interactive console would block the machine.
/// </remarks>
public sealed class Uart16550 : IPortDevice
{
    public const ushort Com1 = 0x3F8;
    public const int PortCount = 8;

    private const byte LsrDataReady = 0x01, LsrThrEmpty = 0x20, LsrTransmitterEmpty = 0x40;
    private const byte LcrDlab = 0x80, McrLoopback = 0x10;

    private readonly Stream? _output;
    private readonly Stream? _input;
    private readonly Queue<byte> _queued = new();
    private bool _inputEnded;
    private byte _ier, _lcr, _mcr, _scratch, _fcr, _dll = 1, _dlm;

    /// <param name="output">Receives every transmitted byte; null discards output.</param>
    /// <param name="input">Supplies received bytes; null means none arrive except through <see cref="QueueInput"/>.</param>
    public Uart16550(Stream? output = null, Stream? input = null)
    {
        _output = output;
        _input = input;
    }

    /// <summary>Registers the eight ports at <paramref name="basePort"/>.</summary>
    public void Attach(IoPortBus bus, ushort basePort = Com1) => bus.Register(basePort, PortCount, this);

    /// <summary>Bytes the guest has transmitted so far.</summary>
    public long BytesTransmitted { get; private set; }

    /// <summary>Makes <paramref name="bytes"/> arrive at the receiver before anything from the input stream.</summary>
    public void QueueInput(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes) _queued.Enqueue(b);
    }

    /// <summary>Flushes the output stream.</summary>
    public void Flush() => _output?.Flush();

    private bool DataReady()
    {
        if (_queued.Count > 0) return true;
        if (_input == null || _inputEnded || (_mcr & McrLoopback) != 0) return false;
        int b;
        try { b = _input.ReadByte(); }
        catch (IOException) { b = -1; }
        if (b < 0)
        {
            _inputEnded = true;
            return false;
        }
        _queued.Enqueue((byte)b);
        return true;
    }

    /// <inheritdoc />
    public uint Read(ushort port, int size)
    {
        bool dlab = (_lcr & LcrDlab) != 0;
        switch (port & 7)
        {
            case 0:
                if (dlab) return _dll;
                return DataReady() ? _queued.Dequeue() : 0u;
            case 1:
                return dlab ? _dlm : _ier;
            case 2:
                // No interrupt is ever pending; bits 7:6 report the FIFOs when enabled.
                return (_fcr & 1) != 0 ? 0xC1u : 0x01u;
            case 3:
                return _lcr;
            case 4:
                return _mcr;
            case 5:
                return (uint)(LsrThrEmpty | LsrTransmitterEmpty | (DataReady() ? LsrDataReady : 0));
            case 6:
                if ((_mcr & McrLoopback) != 0)
                {
                    // Loopback wires RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
                    int m = _mcr;
                    return (uint)(((m & 2) << 3) | ((m & 1) << 5) | ((m & 4) << 4) | ((m & 8) << 4));
                }
                return 0xB0; // CTS, DSR, DCD: a terminal is always there.
            default:
                return _scratch;
        }
    }

    /// <inheritdoc />
    public void Write(ushort port, int size, uint value)
    {
        byte v = (byte)value;
        bool dlab = (_lcr & LcrDlab) != 0;
        switch (port & 7)
        {
            case 0:
                if (dlab) { _dll = v; break; }
                if ((_mcr & McrLoopback) != 0) { _queued.Enqueue(v); break; }
                BytesTransmitted++;
                if (_output != null)
                {
                    _output.WriteByte(v);
                    if (v == (byte)'\n') _output.Flush();
                }
                break;
            case 1:
                if (dlab) _dlm = v; else _ier = (byte)(v & 0x0F);
                break;
            case 2:
                _fcr = v;
                if ((v & 2) != 0) _queued.Clear();
                break;
            case 3:
                _lcr = v;
                break;
            case 4:
                _mcr = (byte)(v & 0x1F);
                break;
            case 5:
            case 6:
                break; // read-only status registers
            default:
                _scratch = v;
                break;
        }
    }
}
