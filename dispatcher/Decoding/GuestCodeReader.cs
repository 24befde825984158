using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Iced.Intel;

namespace Drk.Dispatcher.Decoding;

/// <summary>
/// Feeds Iced's decoder with guest instruction bytes fetched through <see cref="IGuestMemory.Fetch"/>,
/// one page at a time, and remembers the fault that stopped a fetch.
/// </summary>
/// <remarks>
/// Bytes are fetched in small chunks that never cross a page boundary, so an instruction that
/// straddles two pages fetches from both, and a fault on the second page is attributed to the
/// first byte that could not be fetched. The reader is reused for every block of a decoder
/// (<see cref="Reset"/>); it allocates nothing after construction.
/// </remarks>
internal sealed class GuestCodeReader : CodeReader
{
    /// <summary>Bytes fetched per call: more than one long instruction, far less than a page.</summary>
    private const int ChunkSize = 64;
    private const ulong PageSize = 4096;

    private readonly IGuestMemory _memory;
    private readonly byte[] _chunk = new byte[ChunkSize];
    private ulong _chunkStart;
    private int _chunkLength;
    private ulong _position;
    private bool _faulted;
    private GuestFault _fault;

    public GuestCodeReader(IGuestMemory memory) => _memory = memory;

    /// <summary>Linear address of the next byte <see cref="ReadByte"/> returns.</summary>
    public ulong Position => _position;

    /// <summary>True when a fetch stopped short; <see cref="Fault"/> says why.</summary>
    public bool Faulted => _faulted;

    /// <summary>The fault of the first byte that could not be fetched (valid when <see cref="Faulted"/>).</summary>
    public GuestFault Fault => _fault;

    /// <summary>Linear address of the first byte that could not be fetched (valid when <see cref="Faulted"/>).</summary>
    public ulong FaultAddress { get; private set; }

    /// <summary>Starts reading at <paramref name="address"/>, forgetting earlier bytes and faults.</summary>
    public void Reset(ulong address)
    {
        _position = address;
        _chunkStart = address;
        _chunkLength = 0;
        _faulted = false;
        _fault = default;
        FaultAddress = 0;
    }

    /// <summary>Moves to <paramref name="address"/> keeping the bytes already fetched (used between instructions of a block).</summary>
    public void Seek(ulong address)
    {
        if (address - _chunkStart > (ulong)_chunkLength)
        {
            _chunkStart = address;
            _chunkLength = 0;
        }
        _position = address;
    }

    /// <inheritdoc />
    public override int ReadByte()
    {
        ulong offset = _position - _chunkStart;
        if (offset < (ulong)_chunkLength)
        {
            _position++;
            return _chunk[offset];
        }
        if (_faulted && _position >= FaultAddress) return -1;
        if (!Refill()) return -1;
        _position++;
        return _chunk[0];
    }

    private bool Refill()
    {
        ulong pageRemaining = PageSize - (_position & (PageSize - 1));
        int want = pageRemaining < ChunkSize ? (int)pageRemaining : ChunkSize;
        _chunkStart = _position;
        _chunkLength = _memory.Fetch(_position, _chunk.AsSpan(0, want), out var fault);
        if (_chunkLength < want && !_faulted)
        {
            _faulted = true;
            _fault = fault;
            FaultAddress = _position + (ulong)_chunkLength;
        }
        return _chunkLength > 0;
    }
}
