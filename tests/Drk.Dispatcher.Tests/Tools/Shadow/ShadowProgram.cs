using Drk.Dispatcher.Tools.Shadow;

namespace Drk.Dispatcher.Tests.Tools.Shadow;

/// <summary>A generated sequence of shadow calls over a shadow of <see cref="GuestBytes"/> bytes of the given width.</summary>
public sealed record ShadowProgram(ShadowWidth Width, ulong GuestBytes, byte Initial, ShadowOperation[] Operations)
{
    public override string ToString() =>
        $"{Width} shadow of 0x{GuestBytes:x} bytes, initial {Initial}:\n  " + string.Join("\n  ", Operations.Select(o => o.ToString()));
}
