using Drk.Hv.Cpu;

namespace Drk.Hv.Memory;

/// <summary>
/// An identity-mapped guest memory made of byte regions at fixed linear addresses, for tests
/// and tools that run code without an MMU. An access outside every region raises #PF, or #GP
/// for a non-canonical address, as the MMU would.
/// </summary>
/// <remarks>Regions are few and searched linearly; this is not the fast path of a real machine.</remarks>
public sealed class FlatMemory : IGuestMemory
{
    private readonly List<Region> _regions = new();

    private sealed class Region(ulong start, byte[] bytes, bool writable, bool executable)
    {
        public readonly ulong Start = start;
        public readonly byte[] Bytes = bytes;
        public readonly bool Writable = writable;
        public readonly bool Executable = executable;
        public ulong End => Start + (ulong)Bytes.Length;
    }

    /// <summary>Maps <paramref name="bytes"/> (not copied) at <paramref name="start"/>.</summary>
    public void Map(ulong start, byte[] bytes, bool writable = true, bool executable = true)
    {
        foreach (var r in _regions)
            if (start < r.End && r.Start < start + (ulong)bytes.Length)
                throw new ArgumentException($"region {start:x}+{bytes.Length:x} overlaps {r.Start:x}+{r.Bytes.Length:x}");
        _regions.Add(new Region(start, bytes, writable, executable));
    }

    /// <summary>True when <paramref name="address"/> is canonical for 48-bit linear addresses.</summary>
    public static bool IsCanonical(ulong address) => (ulong)((long)(address << 16) >> 16) == address;

    private Region? Find(ulong address)
    {
        foreach (var r in _regions)
            if (address >= r.Start && address < r.End) return r;
        return null;
    }

    private bool Check(ulong address, int size, AccessKind kind, out GuestFault fault)
    {
        fault = default;
        ulong last = address + (ulong)size - 1;
        if (!IsCanonical(address) || !IsCanonical(last))
        {
            fault = GuestFault.GeneralProtection();
            return false;
        }
        for (ulong a = address; ; a = Find(a)!.End)
        {
            var r = Find(a);
            uint err = kind == AccessKind.Write ? 2u : kind == AccessKind.Execute ? 16u : 0u;
            if (r == null)
            {
                fault = GuestFault.PageFault(a, err);
                return false;
            }
            if ((kind == AccessKind.Write && !r.Writable) || (kind == AccessKind.Execute && !r.Executable))
            {
                fault = GuestFault.PageFault(a, err | 1);
                return false;
            }
            if (last < r.End) return true;
        }
    }

    /// <inheritdoc />
    public bool Read(ulong address, int size, out ulong value, out GuestFault fault)
    {
        value = 0;
        if (!Check(address, size, AccessKind.Read, out fault)) return false;
        for (int i = 0; i < size; i++)
        {
            ulong a = address + (ulong)i;
            var r = Find(a)!;
            value |= (ulong)r.Bytes[a - r.Start] << (8 * i);
        }
        return true;
    }

    /// <inheritdoc />
    public bool Write(ulong address, int size, ulong value, out GuestFault fault)
    {
        if (!Check(address, size, AccessKind.Write, out fault)) return false;
        for (int i = 0; i < size; i++)
        {
            ulong a = address + (ulong)i;
            var r = Find(a)!;
            r.Bytes[a - r.Start] = (byte)(value >> (8 * i));
        }
        return true;
    }

    /// <inheritdoc />
    public int Fetch(ulong address, Span<byte> buffer, out GuestFault fault)
    {
        fault = default;
        for (int i = 0; i < buffer.Length; i++)
        {
            if (!Check(address + (ulong)i, 1, AccessKind.Execute, out fault)) return i;
            var r = Find(address + (ulong)i)!;
            buffer[i] = r.Bytes[address + (ulong)i - r.Start];
        }
        return buffer.Length;
    }
}
