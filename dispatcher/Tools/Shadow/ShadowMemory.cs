using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Drk.Dispatcher.Tools.Shadow;

/// <summary>
/// A byte-granular shadow of guest physical memory: one small value (2 or 8 bits, see
/// <see cref="ShadowWidth"/>) per guest byte, stored in chunks of <see cref="ChunkSize"/> guest
/// bytes that are materialised only when written with mixed values.
/// </summary>
/// <remarks>
/// <para>
/// <b>Encoding.</b> The values mean whatever the tool says (memcheck: addressable/defined bits;
/// BGI: rights or a domain id). With <see cref="ShadowWidth.TwoBits"/> four guest bytes share a
/// host byte, byte <c>pa</c> in bits <c>2*(pa%4)</c>..<c>2*(pa%4)+1</c>; with
/// <see cref="ShadowWidth.EightBits"/> each guest byte has its own host byte.
/// </para>
/// <para>
/// <b>Uniform chunks.</b> A chunk whose bytes all hold the same value points at a shared,
/// read-only "uniform" chunk for that value (Valgrind's distinguished secondary maps), so a
/// 256 MiB guest costs a 32 KiB directory until it is written. A write that would change a
/// uniform chunk first gives it its own storage (copy on write); a <see cref="Set"/> or
/// <see cref="Copy"/> that covers a whole chunk with one value points it back at a shared chunk
/// without materialising anything; <see cref="Compact"/> returns chunks that became uniform.
/// </para>
/// <para>
/// <b>Cost.</b> The per-access calls (<see cref="Check"/>, <see cref="CheckAllowed(ulong, int, byte)"/>,
/// <see cref="GetPacked"/>, <see cref="SetPacked"/>, small <see cref="Set"/>) for 1..8 bytes are a
/// range check, one directory load and one unaligned load (and store) of the chunk: no allocation,
/// no loop. Accesses that cross a chunk boundary, or sizes above 8, take a slower byte loop.
/// Bulk calls work chunk by chunk and skip uniform chunks in O(1).
/// </para>
/// <para>
/// <b>Threads.</b> Not thread-safe. Any number of threads may read concurrently while none
/// writes; writers must be serialised with every other access. The dispatcher runs vCPUs
/// round-robin on one thread by default, so tools need no locking there; a parallel mode must
/// give each tool a lock (or per-vCPU shadows).
/// </para>
/// <para>
/// <b>Range.</b> Guest physical addresses <c>[0, Size)</c>. Any access outside that range throws
/// <see cref="ArgumentOutOfRangeException"/>; tools must not shadow MMIO above RAM.
/// </para>
/// </remarks>
public sealed class ShadowMemory
{
    /// <summary>log2 of <see cref="ChunkSize"/>.</summary>
    public const int ChunkShift = 16;

    /// <summary>Guest bytes covered by one chunk (64 KiB): the unit of materialisation.</summary>
    public const ulong ChunkSize = 1UL << ChunkShift;

    /// <summary>The largest guest memory a shadow covers (64 GiB: a directory of 2^20 chunk references, 8 MiB).</summary>
    public const ulong MaxGuestBytes = 64UL << 30;

    private const ulong ChunkMask = ChunkSize - 1;
    private const ulong Ones8 = 0x0101_0101_0101_0101;
    private const uint Ones2 = 0x5555_5555;

    // The 2-bit field of each guest byte, spread to (or gathered from) the low bits of one byte each.
    private const ulong PairsInBytes = 0x0303_0303_0303_0303;

    private readonly byte[][] _chunks;

    // Indexed by the host byte a uniform chunk is filled with, so "is this chunk shared?" is one
    // load and compare: ReferenceEquals(_uniformByPattern[chunk[0]], chunk).
    private readonly byte[]?[] _uniformByPattern = new byte[]?[256];
    private readonly bool _twoBits;
    private readonly int _chunkBytes;
    private readonly byte _valueMask;
    private readonly ulong _size;
    private long _materialized;
    private long _materializations;
    private int _uniformValues;

    /// <summary>A shadow of <paramref name="guestBytes"/> of guest physical memory, every byte holding <paramref name="initial"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is 0 or above <see cref="MaxGuestBytes"/>, the width unknown, or <paramref name="initial"/> does not fit the width.</exception>
    public ShadowMemory(ulong guestBytes, ShadowWidth width, byte initial = 0)
    {
        if (width is not (ShadowWidth.TwoBits or ShadowWidth.EightBits))
            throw new ArgumentOutOfRangeException(nameof(width), width, "the shadow width is 2 or 8 bits");
        if (guestBytes == 0 || guestBytes > MaxGuestBytes)
            throw new ArgumentOutOfRangeException(nameof(guestBytes), guestBytes, $"the guest memory size must be 1 byte to {MaxGuestBytes >> 30} GiB");
        _twoBits = width == ShadowWidth.TwoBits;
        _valueMask = _twoBits ? (byte)3 : (byte)0xff;
        if (initial > _valueMask)
            throw new ArgumentOutOfRangeException(nameof(initial), initial, $"a {(int)width}-bit shadow holds values 0..{_valueMask}");
        _chunkBytes = _twoBits ? (int)(ChunkSize / 4) : (int)ChunkSize;
        _size = guestBytes;
        Width = width;
        Initial = initial;
        _chunks = new byte[(int)((guestBytes + ChunkMask) >> ChunkShift)][];
        Array.Fill(_chunks, UniformChunk(initial));
    }

    /// <summary>Guest bytes covered: addresses <c>[0, Size)</c>.</summary>
    public ulong Size => _size;

    /// <summary>Bits of shadow per guest byte.</summary>
    public ShadowWidth Width { get; }

    /// <summary>The largest value a byte can hold: 3 or 255.</summary>
    public byte MaxValue => _valueMask;

    /// <summary>The value every byte held at construction.</summary>
    public byte Initial { get; }

    /// <summary>Host memory in use and materialisation counts; O(1).</summary>
    public ShadowStatistics Statistics => new(
        _chunks.LongLength,
        _materialized,
        _uniformValues,
        _chunks.LongLength * IntPtr.Size + (_materialized + _uniformValues) * (long)_chunkBytes,
        _materializations);

    /// <summary>The shadow value of guest byte <paramref name="pa"/>.</summary>
    public byte Get(ulong pa)
    {
        if (pa >= _size) ThrowOutside(pa, 1);
        return GetUnchecked(pa);
    }

    /// <summary>
    /// True when every one of the <paramref name="size"/> bytes at <paramref name="pa"/> holds
    /// <paramref name="expected"/>: the per-access check (e.g. "all defined"). Sizes 1..8 not
    /// crossing a chunk boundary take the fast path; any positive size works.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Check(ulong pa, int size, byte expected)
    {
        if (pa < _size && (uint)(size - 1) < 8 && (ulong)size <= _size - pa && expected <= _valueMask)
        {
            byte[] chunk = ChunkAt(pa);
            int offset = (int)(pa & ChunkMask);
            if (!_twoBits)
            {
                if (offset <= (int)ChunkSize - 8)
                    return ((ReadHost64(chunk, offset) ^ (expected * Ones8)) & ByteMask(size)) == 0;
            }
            else if (offset <= (int)ChunkSize - 16)
            {
                uint bits = ReadHost32(chunk, offset >> 2) >> ((offset & 3) * 2);
                return ((bits ^ (expected * Ones2)) & PairMask(size)) == 0;
            }
        }
        return CheckSlow(pa, size, expected);
    }

    /// <summary>
    /// True when every one of the <paramref name="size"/> bytes at <paramref name="pa"/> has all
    /// bits of <paramref name="mask"/> set (e.g. BGI: the module holds the write right on each
    /// byte; memcheck: each byte is addressable). Same fast path as <see cref="Check"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool CheckAllowed(ulong pa, int size, byte mask)
    {
        if (pa < _size && (uint)(size - 1) < 8 && (ulong)size <= _size - pa && mask <= _valueMask)
        {
            byte[] chunk = ChunkAt(pa);
            int offset = (int)(pa & ChunkMask);
            if (!_twoBits)
            {
                if (offset <= (int)ChunkSize - 8)
                    return (~ReadHost64(chunk, offset) & (mask * Ones8) & ByteMask(size)) == 0;
            }
            else if (offset <= (int)ChunkSize - 16)
            {
                uint bits = ReadHost32(chunk, offset >> 2) >> ((offset & 3) * 2);
                return (~bits & (mask * Ones2) & PairMask(size)) == 0;
            }
        }
        return CheckAllowedSlow(pa, size, mask);
    }

    /// <summary>
    /// The shadow values of the <paramref name="size"/> (1..8) bytes at <paramref name="pa"/>, the
    /// value of byte <c>pa + i</c> in bits <c>8i..8i+7</c> (the layout of a little-endian load):
    /// what memcheck propagates into a register's shadow on a load.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong GetPacked(ulong pa, int size)
    {
        if (pa < _size && (uint)(size - 1) < 8 && (ulong)size <= _size - pa)
        {
            byte[] chunk = ChunkAt(pa);
            int offset = (int)(pa & ChunkMask);
            if (!_twoBits)
            {
                if (offset <= (int)ChunkSize - 8)
                    return ReadHost64(chunk, offset) & ByteMask(size);
            }
            else if (offset <= (int)ChunkSize - 16)
            {
                uint bits = ReadHost32(chunk, offset >> 2) >> ((offset & 3) * 2);
                return FastBitDeposit
                    ? Bmi2.X64.ParallelBitDeposit(bits, PairsInBytes & ByteMask(size))
                    : SpreadPairs(bits & PairMask(size));
            }
        }
        return GetPackedSlow(pa, size);
    }

    /// <summary>
    /// Sets the shadow of the <paramref name="size"/> (1..8) bytes at <paramref name="pa"/> to the
    /// values packed in <paramref name="values"/> (layout of <see cref="GetPacked"/>): the store side
    /// of definedness propagation. Writing a uniform chunk's own value leaves it uniform.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A value does not fit the width, or the range leaves the shadow.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetPacked(ulong pa, int size, ulong values)
    {
        if (pa < _size && (uint)(size - 1) < 8 && (ulong)size <= _size - pa
            && (!_twoBits || (values & ~PairsInBytes & ByteMask(size)) == 0))
        {
            int offset = (int)(pa & ChunkMask);
            if (!_twoBits)
            {
                if (offset <= (int)ChunkSize - 8)
                {
                    byte[]? chunk = WritableChunkFor(pa, values, ByteMask(size));
                    if (chunk is null) return;
                    ulong mask = ByteMask(size);
                    ulong old = ReadHost64(chunk, offset);
                    WriteHost64(chunk, offset, (old & ~mask) | (values & mask));
                    return;
                }
            }
            else if (offset <= (int)ChunkSize - 16)
            {
                byte[]? chunk = WritableChunkFor(pa, values, ByteMask(size));
                if (chunk is null) return;
                int shift = (offset & 3) * 2;
                uint mask = PairMask(size) << shift;
                uint bits = (FastBitDeposit ? (uint)Bmi2.X64.ParallelBitExtract(values, PairsInBytes) : GatherPairs(values)) << shift;
                uint old = ReadHost32(chunk, offset >> 2);
                WriteHost32(chunk, offset >> 2, (old & ~mask) | (bits & mask));
                return;
            }
        }
        SetPackedSlow(pa, size, values);
    }

    /// <summary>
    /// Sets <paramref name="length"/> bytes at <paramref name="pa"/> to <paramref name="value"/>.
    /// 1..8 bytes take the <see cref="SetPacked"/> fast path; larger ranges replace every whole
    /// chunk they cover by the shared uniform chunk (O(1) per chunk, freeing its storage) and fill
    /// only the partial chunks at the ends, which stay untouched if they already hold the value uniformly.
    /// </summary>
    public void Set(ulong pa, ulong length, byte value)
    {
        if (value > _valueMask) ThrowValue(value);
        if (length - 1 < 8)
        {
            SetPacked(pa, (int)length, value * Ones8);
            return;
        }
        CheckRange(pa, length);
        ulong end = pa + length;
        while (pa < end)
        {
            int offset = (int)(pa & ChunkMask);
            int piece = (int)Math.Min(end - pa, ChunkSize - (ulong)offset);
            SetPiece((int)(pa >> ChunkShift), offset, piece, value);
            pa += (ulong)piece;
        }
    }

    /// <summary>
    /// True when all <paramref name="length"/> bytes at <paramref name="pa"/> hold
    /// <paramref name="expected"/>; otherwise false with the lowest address that does not in
    /// <paramref name="firstMismatch"/> (which is <c>pa + length</c> on success). Uniform chunks
    /// cost O(1); materialised ones are scanned a word at a time.
    /// </summary>
    public bool CheckAll(ulong pa, ulong length, byte expected, out ulong firstMismatch)
    {
        if (expected > _valueMask) ThrowValue(expected);
        return Scan<EqualsTest>(pa, length, expected, out firstMismatch);
    }

    /// <summary>
    /// True when all <paramref name="length"/> bytes at <paramref name="pa"/> have every bit of
    /// <paramref name="mask"/>; otherwise false with the lowest address that lacks one in
    /// <paramref name="firstLacking"/> (<c>pa + length</c> on success).
    /// </summary>
    public bool CheckAllowed(ulong pa, ulong length, byte mask, out ulong firstLacking)
    {
        if (mask > _valueMask) ThrowValue(mask);
        return Scan<HasAllBitsTest>(pa, length, mask, out firstLacking);
    }

    /// <summary>
    /// Copies the shadow of <paramref name="length"/> bytes from <paramref name="srcPa"/> to
    /// <paramref name="dstPa"/> with memmove semantics (overlap allowed): for memcpy/realloc
    /// wrappers and page copies. Uniform source pieces become a <see cref="Set"/> of the
    /// destination, so copying untouched memory materialises nothing.
    /// </summary>
    public void Copy(ulong srcPa, ulong dstPa, ulong length)
    {
        CheckRange(srcPa, length);
        CheckRange(dstPa, length);
        if (length == 0 || srcPa == dstPa) return;
        bool backward = dstPa > srcPa && dstPa < srcPa + length;
        // Destination chunk by destination chunk, so a destination chunk whose source is uniform
        // (even across two source chunks) is set, or shared when whole, instead of materialised.
        // Where the destination overlaps the source's tail, go from the end so no source byte is
        // overwritten before it is read (memmove).
        for (ulong done = 0; done < length;)
        {
            ulong left = length - done;
            int piece;
            ulong s, d;
            if (!backward)
            {
                d = dstPa + done;
                piece = (int)Math.Min(left, ChunkSize - (d & ChunkMask));
                s = srcPa + done;
            }
            else
            {
                ulong dEnd = dstPa + left;
                piece = (int)Math.Min(left, ((dEnd - 1) & ChunkMask) + 1);
                d = dEnd - (ulong)piece;
                s = srcPa + left - (ulong)piece;
            }
            int dstIndex = (int)(d >> ChunkShift), dstOffset = (int)(d & ChunkMask);
            if (IsUniformRange(s, piece, out byte value))
            {
                SetPiece(dstIndex, dstOffset, piece, value);
            }
            else
            {
                // The source may straddle a chunk boundary: copy its two parts in the right order.
                int first = (int)Math.Min((ulong)piece, ChunkSize - (s & ChunkMask));
                if (!backward || first == piece)
                {
                    CopyPiece(s, d, first, backward);
                    if (first < piece) CopyPiece(s + (ulong)first, d + (ulong)first, piece - first, backward);
                }
                else
                {
                    CopyPiece(s + (ulong)first, d + (ulong)first, piece - first, backward);
                    CopyPiece(s, d, first, backward);
                }
            }
            done += (ulong)piece;
        }
    }

    /// <summary>
    /// Points every materialised chunk whose bytes all hold one value back at the shared uniform
    /// chunk, releasing its storage; returns how many were released. O(materialised bytes): call
    /// it at quiet points (module unload, a big free), not per access.
    /// </summary>
    public int Compact()
    {
        int released = 0;
        for (int i = 0; i < _chunks.Length; i++)
        {
            byte[] chunk = _chunks[i];
            if (IsShared(chunk)) continue;
            byte first = chunk[0];
            if (_twoBits && first != (first & 3) * 0x55) continue;
            if (chunk.AsSpan().IndexOfAnyExcept(first) >= 0) continue;
            _chunks[i] = UniformChunk((byte)(first & _valueMask));
            _materialized--;
            released++;
        }
        return released;
    }

    /// <summary>True when the chunk holding <paramref name="pa"/> is a shared uniform one (for tests and statistics).</summary>
    public bool IsUniformChunk(ulong pa)
    {
        if (pa >= _size) ThrowOutside(pa, 1);
        return IsShared(ChunkAt(pa));
    }

    private bool CheckSlow(ulong pa, int size, byte expected)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "an access is at least 1 byte");
        return CheckAll(pa, (ulong)size, expected, out _);
    }

    private bool CheckAllowedSlow(ulong pa, int size, byte mask)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "an access is at least 1 byte");
        return CheckAllowed(pa, (ulong)size, mask, out _);
    }

    private ulong GetPackedSlow(ulong pa, int size)
    {
        if ((uint)(size - 1) >= 8) throw new ArgumentOutOfRangeException(nameof(size), size, "a packed access is 1 to 8 bytes");
        CheckRange(pa, (ulong)size);
        ulong values = 0;
        for (int i = 0; i < size; i++)
            values |= (ulong)GetUnchecked(pa + (ulong)i) << (8 * i);
        return values;
    }

    private void SetPackedSlow(ulong pa, int size, ulong values)
    {
        if ((uint)(size - 1) >= 8) throw new ArgumentOutOfRangeException(nameof(size), size, "a packed access is 1 to 8 bytes");
        CheckRange(pa, (ulong)size);
        for (int i = 0; i < size; i++)
        {
            byte value = (byte)(values >> (8 * i));
            if (value > _valueMask) ThrowValue(value);
        }
        for (int i = 0; i < size; i++)
        {
            ulong at = pa + (ulong)i;
            SetPiece((int)(at >> ChunkShift), (int)(at & ChunkMask), 1, (byte)(values >> (8 * i)));
        }
    }

    private bool Scan<TTest>(ulong pa, ulong length, byte operand, out ulong firstFailure) where TTest : IShadowTest
    {
        CheckRange(pa, length);
        ulong end = pa + length;
        while (pa < end)
        {
            byte[] chunk = ChunkAt(pa);
            int offset = (int)(pa & ChunkMask);
            int piece = (int)Math.Min(end - pa, ChunkSize - (ulong)offset);
            int failure = IsShared(chunk)
                ? (TTest.Fails(UniformValue(chunk), operand) ? 0 : -1)
                : FindFailure<TTest>(chunk, offset, piece, operand);
            if (failure >= 0)
            {
                firstFailure = pa + (ulong)failure;
                return false;
            }
            pa += (ulong)piece;
        }
        firstFailure = end;
        return true;
    }

    // Index (relative to offset) of the first guest byte in [offset, offset + count) of a
    // materialised chunk that fails the test, or -1: a word (8 host bytes) at a time, then byte by byte inside the failing word.
    private int FindFailure<TTest>(byte[] chunk, int offset, int count, byte operand) where TTest : IShadowTest
    {
        int perHostByte = _twoBits ? 4 : 1;
        int i = 0;
        for (; i < count && (offset + i) % perHostByte != 0; i++)
            if (TTest.Fails(GetFromChunk(chunk, offset + i), operand)) return i;
        if (typeof(TTest) == typeof(EqualsTest))
        {
            // Equality of whole host bytes: the vectorised search of the runtime (several times the word loop's speed).
            int hostBytes = (count - i) / perHostByte;
            int found = chunk.AsSpan((offset + i) / perHostByte, hostBytes).IndexOfAnyExcept(Pattern(operand));
            if (found >= 0)
            {
                int at = i + found * perHostByte;
                for (int k = 0; k < perHostByte; k++)
                    if (TTest.Fails(GetFromChunk(chunk, offset + at + k), operand)) return at + k;
            }
            i += hostBytes * perHostByte;
        }
        ulong broadcast = Pattern(operand) * Ones8;
        int wordGuestBytes = 8 * perHostByte;
        for (; i + wordGuestBytes <= count; i += wordGuestBytes)
        {
            if (!TTest.WordFails(ReadHost64(chunk, (offset + i) / perHostByte), broadcast)) continue;
            for (int k = 0; k < wordGuestBytes; k++)
                if (TTest.Fails(GetFromChunk(chunk, offset + i + k), operand)) return i + k;
        }
        for (; i < count; i++)
            if (TTest.Fails(GetFromChunk(chunk, offset + i), operand)) return i;
        return -1;
    }

    private void SetPiece(int index, int offset, int count, byte value)
    {
        if (count == (int)ChunkSize)
        {
            if (!IsShared(_chunks[index])) _materialized--;
            _chunks[index] = UniformChunk(value);
            return;
        }
        byte[] chunk = _chunks[index];
        if (IsShared(chunk))
        {
            if (UniformValue(chunk) == value) return;
            chunk = Materialize(index);
        }
        Fill(chunk, offset, count, value);
    }

    private void Fill(byte[] chunk, int offset, int count, byte value)
    {
        if (!_twoBits)
        {
            chunk.AsSpan(offset, count).Fill(value);
            return;
        }
        int i = 0;
        for (; i < count && ((offset + i) & 3) != 0; i++) SetInChunk(chunk, offset + i, value);
        int whole = (count - i) >> 2;
        chunk.AsSpan((offset + i) >> 2, whole).Fill(Pattern(value));
        for (i += whole * 4; i < count; i++) SetInChunk(chunk, offset + i, value);
    }

    // True when [pa, pa + count) (count <= ChunkSize, so at most two chunks) lies in shared chunks of one value.
    private bool IsUniformRange(ulong pa, int count, out byte value)
    {
        byte[] first = ChunkAt(pa);
        value = 0;
        if (!IsShared(first)) return false;
        value = UniformValue(first);
        byte[] last = ChunkAt(pa + (ulong)count - 1);
        return ReferenceEquals(first, last) || (IsShared(last) && UniformValue(last) == value);
    }

    // Copies count bytes, src and dst each inside one chunk, in the given direction where they overlap.
    private void CopyPiece(ulong src, ulong dst, int count, bool backward)
    {
        byte[] source = ChunkAt(src);
        int dstIndex = (int)(dst >> ChunkShift);
        if (IsShared(source))
        {
            SetPiece(dstIndex, (int)(dst & ChunkMask), count, UniformValue(source));
            return;
        }
        if (count == (int)ChunkSize)
        {
            // Whole chunk to whole chunk (src != dst here, so they are different chunks).
            if (IsShared(_chunks[dstIndex]))
            {
                _chunks[dstIndex] = (byte[])source.Clone();
                _materialized++;
                _materializations++;
            }
            else
            {
                source.CopyTo(_chunks[dstIndex], 0);
            }
            return;
        }
        int so = (int)(src & ChunkMask), dO = (int)(dst & ChunkMask);
        byte[] target = IsShared(_chunks[dstIndex]) ? Materialize(dstIndex) : _chunks[dstIndex];
        if (!_twoBits)
        {
            // Span.CopyTo is memmove: overlap inside one array is safe in either direction.
            source.AsSpan(so, count).CopyTo(target.AsSpan(dO, count));
            return;
        }
        if (((so ^ dO) & 3) != 0)
        {
            // Different phase inside the host byte: eight 2-bit fields at a time through a shift,
            // while both 32-bit windows fit in their chunks; single bytes for the rest. A group's
            // read-modify-write changes only its own destination fields, so memmove order holds.
            int limit = (int)ChunkSize - 16;
            if (backward)
            {
                // The top bytes whose group would reach past the chunk go singly first, then groups, then the bottom bytes.
                int groupsEnd = Math.Max(0, Math.Min(count, Math.Min(limit - so, limit - dO) + 8));
                int i = count;
                while (i > groupsEnd) { i--; SetInChunk(target, dO + i, GetFromChunk(source, so + i)); }
                for (; i >= 8; i -= 8) CopyEightFields(source, so + i - 8, target, dO + i - 8);
                while (i > 0) { i--; SetInChunk(target, dO + i, GetFromChunk(source, so + i)); }
            }
            else
            {
                int i = 0;
                for (; i + 8 <= count && so + i <= limit && dO + i <= limit; i += 8) CopyEightFields(source, so + i, target, dO + i);
                for (; i < count; i++) SetInChunk(target, dO + i, GetFromChunk(source, so + i));
            }
            return;
        }
        // Same phase inside the host byte: odd bytes at the ends one by one, whole host bytes in the middle.
        int head = Math.Min(count, (4 - (so & 3)) & 3);
        int whole = (count - head) >> 2;
        if (!backward)
        {
            for (int i = 0; i < head; i++) SetInChunk(target, dO + i, GetFromChunk(source, so + i));
            source.AsSpan((so + head) >> 2, whole).CopyTo(target.AsSpan((dO + head) >> 2, whole));
            for (int i = head + whole * 4; i < count; i++) SetInChunk(target, dO + i, GetFromChunk(source, so + i));
        }
        else
        {
            for (int i = count - 1; i >= head + whole * 4; i--) SetInChunk(target, dO + i, GetFromChunk(source, so + i));
            source.AsSpan((so + head) >> 2, whole).CopyTo(target.AsSpan((dO + head) >> 2, whole));
            for (int i = head - 1; i >= 0; i--) SetInChunk(target, dO + i, GetFromChunk(source, so + i));
        }
    }

    // Copies the 2-bit fields of guest offsets [so, so + 8) of source to [dO, dO + 8) of target; both offsets <= ChunkSize - 16.
    private static void CopyEightFields(byte[] source, int so, byte[] target, int dO)
    {
        uint bits = (ReadHost32(source, so >> 2) >> ((so & 3) * 2)) & 0xffff;
        int shift = (dO & 3) * 2;
        uint mask = 0xffffu << shift;
        uint old = ReadHost32(target, dO >> 2);
        WriteHost32(target, dO >> 2, (old & ~mask) | (bits << shift));
    }

    // The chunk to write for pa, materialised if needed; null when it is uniform and the write
    // (values under mask) would not change it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte[]? WritableChunkFor(ulong pa, ulong values, ulong mask)
    {
        byte[] chunk = ChunkAt(pa);
        if (!IsShared(chunk)) return chunk;
        if (((values ^ (UniformValue(chunk) * Ones8)) & mask) == 0) return null;
        return Materialize((int)(pa >> ChunkShift));
    }

    private byte[] Materialize(int index)
    {
        byte[] shared = _chunks[index];
        byte[] own = GC.AllocateUninitializedArray<byte>(_chunkBytes);
        own.AsSpan().Fill(shared[0]);
        _chunks[index] = own;
        _materialized++;
        _materializations++;
        return own;
    }

    private byte[] UniformChunk(byte value)
    {
        byte pattern = Pattern(value);
        byte[]? chunk = _uniformByPattern[pattern];
        if (chunk is null)
        {
            chunk = new byte[_chunkBytes];
            chunk.AsSpan().Fill(pattern);
            _uniformByPattern[pattern] = chunk;
            _uniformValues++;
        }
        return chunk;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsShared(byte[] chunk) => ReferenceEquals(_uniformByPattern[chunk[0]], chunk);

    private byte UniformValue(byte[] sharedChunk) => (byte)(sharedChunk[0] & _valueMask);

    private byte Pattern(byte value) => _twoBits ? (byte)(value * 0x55) : value;

    private byte GetUnchecked(ulong pa) => GetFromChunk(ChunkAt(pa), (int)(pa & ChunkMask));

    private byte GetFromChunk(byte[] chunk, int offset) =>
        _twoBits ? (byte)((chunk[offset >> 2] >> ((offset & 3) * 2)) & 3) : chunk[offset];

    private static void SetInChunk2(byte[] chunk, int offset, byte value)
    {
        ref byte host = ref chunk[offset >> 2];
        int shift = (offset & 3) * 2;
        host = (byte)((host & ~(3 << shift)) | (value << shift));
    }

    private void SetInChunk(byte[] chunk, int offset, byte value)
    {
        if (_twoBits) SetInChunk2(chunk, offset, value);
        else chunk[offset] = value;
    }

    // Callers have checked pa < Size, so the directory index is in range.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte[] ChunkAt(ulong pa) =>
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_chunks), (nint)(pa >> ChunkShift));

    // Callers have checked that [hostIndex, hostIndex + 8) lies inside the chunk.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadHost64(byte[] chunk, int hostIndex) =>
        Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(chunk), hostIndex));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteHost64(byte[] chunk, int hostIndex, ulong value) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(chunk), hostIndex), value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ReadHost32(byte[] chunk, int hostIndex) =>
        Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(chunk), hostIndex));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteHost32(byte[] chunk, int hostIndex, uint value) =>
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(chunk), hostIndex), value);

    // PDEP/PEXT where each is one fast instruction; not without BMI2, nor on AMD before Zen 3
    // (family 0x17 and older), which microcodes them at tens to hundreds of cycles. A static
    // readonly bool is a constant to the JIT, so the unused path disappears.
    private static readonly bool FastBitDeposit = Bmi2.X64.IsSupported && !IsAmdBeforeZen3();

    private static bool IsAmdBeforeZen3()
    {
        if (!X86Base.IsSupported) return false;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        bool amd = ebx == 0x6874_7541 && edx == 0x6974_6e65 && ecx == 0x444d_4163; // "AuthenticAMD"
        if (!amd) return false;
        int eax = X86Base.CpuId(1, 0).Eax;
        int family = (eax >> 8) & 0xf;
        if (family == 0xf) family += (eax >> 20) & 0xff;
        return family < 0x19;
    }

    // The eight 2-bit fields of bits 0..15 moved to the low bits of bytes 0..7, by halving the
    // distance three times: PDEP's job in plain shifts and masks, for CPUs where PDEP is slow.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong SpreadPairs(uint bits)
    {
        ulong x = bits;
        x = (x & 0x00ff) | ((x & 0xff00) << 24);
        x = (x & 0x0000_000f_0000_000f) | ((x & 0x0000_00f0_0000_00f0) << 12);
        return (x & 0x0003_0003_0003_0003) | ((x & 0x000c_000c_000c_000c) << 6);
    }

    // The inverse of SpreadPairs: the low 2 bits of bytes 0..7 packed into bits 0..15.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint GatherPairs(ulong values)
    {
        ulong x = values & PairsInBytes;
        x = (x | (x >> 6)) & 0x000f_000f_000f_000f;
        x = (x | (x >> 12)) & 0x0000_00ff_0000_00ff;
        return (uint)((x | (x >> 24)) & 0xffff);
    }

    // Low size bytes set, for size 1..8.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ByteMask(int size) => ulong.MaxValue >> (64 - 8 * size);

    // Low size 2-bit fields set, for size 1..8.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint PairMask(int size) => uint.MaxValue >> (32 - 2 * size);

    private void CheckRange(ulong pa, ulong length)
    {
        if (pa > _size || length > _size - pa) ThrowOutside(pa, length);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowOutside(ulong pa, ulong length) =>
        throw new ArgumentOutOfRangeException(nameof(pa), $"0x{pa:x}+0x{length:x} is outside the shadowed guest memory");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowValue(byte value) =>
        throw new ArgumentOutOfRangeException(nameof(value), value, $"a {(int)Width}-bit shadow holds values 0..{_valueMask}");
}
