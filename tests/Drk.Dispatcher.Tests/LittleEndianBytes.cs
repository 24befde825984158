namespace Drk.Dispatcher.Tests;

/// <summary>Values of 1 to 8 bytes in a guest memory region's backing array, little-endian as the guest stores them.</summary>
internal static class LittleEndianBytes
{
    public static ulong Read(byte[] bytes, int offset, int size)
    {
        ulong value = 0;
        for (int i = 0; i < size; i++) value |= (ulong)bytes[offset + i] << (8 * i);
        return value;
    }

    public static void Write(byte[] bytes, int offset, ulong value, int size)
    {
        for (int i = 0; i < size; i++) bytes[offset + i] = (byte)(value >> (8 * i));
    }
}
