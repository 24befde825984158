using System.Buffers.Binary;

namespace Drk.Dispatcher.Tools;

/// <summary>
/// Reads the guest's <c>struct module_desc</c> (guest/include/module.h; offsets in
/// docs/guest-abi.md), the argument of <c>drk_module_event</c>, without side effects.
/// </summary>
internal static class ModuleDescriptor
{
    public const int EventLoad = 1;
    public const int EventUnload = 2;
    private const int Size = 120;
    private const int MaxSections = 4096;
    private const ulong MaxImage = 64UL << 20;

    /// <summary>The module the descriptor at <paramref name="address"/> describes and its event; null when unreadable or of another version.</summary>
    public static ModuleInfo? Read(ToolVcpu vcpu, ulong address, bool withImage, out int eventKind)
    {
        eventKind = 0;
        Span<byte> d = stackalloc byte[Size];
        if (!vcpu.TryRead(address, d)) return null;
        if (U32(d, 0) != 1) return null;
        eventKind = (int)U32(d, 4);
        string name = vcpu.TryReadString(U64(d, 8)) ?? "?";
        string path = vcpu.TryReadString(U64(d, 16)) ?? "";
        uint sectionCount = Math.Min(U32(d, 96), MaxSections);
        var sections = new ulong[sectionCount];
        var raw = new byte[sectionCount * 8];
        if (vcpu.TryRead(U64(d, 88), raw))
            for (int i = 0; i < sections.Length; i++) sections[i] = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(i * 8));
        byte[]? image = null;
        ulong imageSize = U64(d, 112);
        if (withImage && imageSize > 0 && imageSize <= MaxImage)
        {
            image = new byte[imageSize];
            if (!vcpu.TryRead(U64(d, 104), image)) image = null;
        }
        return new ModuleInfo(name, path,
            new AddressRange(U64(d, 24), U64(d, 32)), new AddressRange(U64(d, 40), U64(d, 48)),
            new AddressRange(U64(d, 56), U64(d, 64)), new AddressRange(U64(d, 72), U64(d, 80)),
            sections, image);
    }

    private static uint U32(ReadOnlySpan<byte> d, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(d[offset..]);

    private static ulong U64(ReadOnlySpan<byte> d, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(d[offset..]);
}
