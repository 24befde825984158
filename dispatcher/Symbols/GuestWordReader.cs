namespace Drk.Dispatcher.Symbols;

/// <summary>
/// Reads the 8-byte little-endian word at a guest virtual address without side effects (no
/// accessed/dirty bits, no faults delivered, no tool callbacks); false when it is not mapped.
/// <see cref="FramePointerUnwinder"/> only asks for 8-aligned addresses.
/// </summary>
public delegate bool GuestWordReader(ulong virtualAddress, out ulong value);
