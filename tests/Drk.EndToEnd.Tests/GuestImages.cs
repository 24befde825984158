using Drk.Guest.Tests;

namespace Drk.EndToEnd.Tests;

/// <summary>The guest kernel and initrd read into memory once, so every in-process run of a test boots the same bytes even if the guest is rebuilt meanwhile.</summary>
public sealed record GuestImages(byte[] Kernel, byte[] Initrd)
{
    /// <summary>Builds the guest if needed (skips without gcc/make) and reads kernel.elf and the initrd.</summary>
    public static GuestImages Require()
    {
        var build = GuestPrerequisites.RequireBuild();
        return new GuestImages(File.ReadAllBytes(build.KernelPath), File.ReadAllBytes(build.InitrdPath));
    }
}
