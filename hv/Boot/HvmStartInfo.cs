using System.Buffers.Binary;

namespace Drk.Hv.Boot;

/// <summary>
/// The PVH boot ABI's <c>hvm_start_info</c> (version 1) and the arrays it points to, as the
/// loader writes them; RBX holds its physical address at entry.
/// </summary>
/// <remarks>
/// <code>
/// hvm_start_info (56 bytes)           hvm_modlist_entry (32 bytes)   hvm_memmap_table_entry (24 bytes)
///  0 u32 magic = 0x336ec578            0 u64 paddr                     0 u64 addr
///  4 u32 version = 1                   8 u64 size                      8 u64 size
///  8 u32 flags = 0                    16 u64 cmdline_paddr (0)        16 u32 type (1 RAM, 2 reserved)
/// 12 u32 nr_modules                   24 u64 reserved (0)             20 u32 reserved (0)
/// 16 u64 modlist_paddr
/// 24 u64 cmdline_paddr
/// 32 u64 rsdp_paddr (0 without ACPI)
/// 40 u64 memmap_paddr
/// 48 u32 memmap_entries
/// 52 u32 reserved
/// </code>
/// </remarks>
public sealed class HvmStartInfo
{
    public const uint Magic = 0x336E_C578;
    public const uint Version = 1;
    public const int Size = 56, ModuleEntrySize = 32, MemoryMapEntrySize = 24;

    public ulong ModuleListAddress { get; init; }
    /// <summary>(physical address, size) of each module; the initrd is module 0.</summary>
    public IReadOnlyList<(ulong Address, ulong Size)> Modules { get; init; } = Array.Empty<(ulong, ulong)>();
    public ulong CommandLineAddress { get; init; }
    public ulong RsdpAddress { get; init; }
    public ulong MemoryMapAddress { get; init; }
    public IReadOnlyList<MemoryMapEntry> MemoryMap { get; init; } = Array.Empty<MemoryMapEntry>();

    /// <summary>Writes the structure into <paramref name="info"/> (56 bytes).</summary>
    public void WriteHeader(Span<byte> info)
    {
        info.Slice(0, Size).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(info, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(info.Slice(4), Version);
        BinaryPrimitives.WriteUInt32LittleEndian(info.Slice(12), (uint)Modules.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(info.Slice(16), Modules.Count > 0 ? ModuleListAddress : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(info.Slice(24), CommandLineAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(info.Slice(32), RsdpAddress);
        BinaryPrimitives.WriteUInt64LittleEndian(info.Slice(40), MemoryMapAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(info.Slice(48), (uint)MemoryMap.Count);
    }

    /// <summary>Writes the module list (<see cref="ModuleEntrySize"/> bytes per module).</summary>
    public void WriteModules(Span<byte> list)
    {
        for (int i = 0; i < Modules.Count; i++)
        {
            var e = list.Slice(i * ModuleEntrySize, ModuleEntrySize);
            e.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(e, Modules[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(e.Slice(8), Modules[i].Size);
        }
    }

    /// <summary>Writes the memory map (<see cref="MemoryMapEntrySize"/> bytes per entry).</summary>
    public void WriteMemoryMap(Span<byte> map)
    {
        for (int i = 0; i < MemoryMap.Count; i++)
        {
            var e = map.Slice(i * MemoryMapEntrySize, MemoryMapEntrySize);
            e.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(e, MemoryMap[i].Address);
            BinaryPrimitives.WriteUInt64LittleEndian(e.Slice(8), MemoryMap[i].Size);
            BinaryPrimitives.WriteUInt32LittleEndian(e.Slice(16), (uint)MemoryMap[i].Type);
        }
    }
}
