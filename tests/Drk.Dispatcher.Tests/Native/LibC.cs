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

    /// <summary>glibc's <c>struct sigaction</c> on x86-64: handler at 0, mask at 8, flags at 136, restorer at 144.</summary>
    public const int SigactionSize = 152, SigactionFlagsOffset = 136;
    public const int SaSiginfo = 4;

    /// <summary>sigaction(2) through glibc (which supplies the signal-return trampoline).</summary>
    [DllImport("libc", SetLastError = true)]
    public static extern unsafe int sigaction(int signal, byte* action, byte* oldAction);
}
