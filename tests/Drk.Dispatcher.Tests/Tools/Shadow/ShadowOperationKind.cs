namespace Drk.Dispatcher.Tests.Tools.Shadow;

/// <summary>The shadow calls a generated program makes: updates, then queries compared with the model.</summary>
public enum ShadowOperationKind
{
    Set,
    SetPacked,
    Copy,
    Compact,
    Check,
    CheckAllowed,
    GetPacked,
    CheckAll,
    CheckAllowedRange,
}
