namespace Drk.Guest.Tests;

/// <summary>Skips a test visibly when gcc/make or QEMU are missing, and fails it when the guest does not build.</summary>
public static class GuestPrerequisites
{
    /// <summary>Skips without the build tools; otherwise returns the (shared, built-once) guest build.</summary>
    public static GuestBuild RequireBuild()
    {
        Skip.If(GuestBuild.WhyUnavailable is not null, $"cannot build the guest: {GuestBuild.WhyUnavailable}");
        var build = GuestBuild.Shared;
        build.AssertSucceeded();
        return build;
    }

    /// <summary>Like <see cref="RequireBuild"/>, and also skips without QEMU.</summary>
    public static GuestBuild RequireBoot()
    {
        Skip.If(QemuRunner.WhyUnavailable is not null, $"cannot boot the guest: {QemuRunner.WhyUnavailable}");
        return RequireBuild();
    }
}
