namespace Drk.Hv.Memory;

/// <summary>
/// Called before a write to a watched code page retires (see <see cref="PhysicalMemory.WatchCodePage"/>).
/// </summary>
public delegate void CodePageWriteHandler(in CodePageWrite write);
