using System.Runtime.InteropServices;

namespace Drk.Dispatcher.Tests.Native;

/// <summary>The few libc calls the native harness needs to own executable memory.</summary>
internal static class LibC
{
    public const int ProtRead = 1, ProtWrite = 2, ProtExec = 4;
    public const int MapPrivate = 0x02, MapAnonymous = 0x20, MapFixedNoReplace = 0x100000;

    /// <summary>mmap's failure value.</summary>
    public static readonly nint MapFailed = -1;

    [DllImport("libc", SetLastError = true)]
    public static extern nint mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc", SetLastError = true)]
    public static extern int mprotect(nint address, nuint length, int protection);

    [DllImport("libc", SetLastError = true)]
    public static extern int munmap(nint address, nuint length);
}
