namespace Drk.Dispatcher.Tools.Shadow;

/// <summary>Passes when the shadow value equals the operand.</summary>
internal readonly struct EqualsTest : IShadowTest
{
    public static bool Fails(byte value, byte operand) => value != operand;

    public static bool WordFails(ulong word, ulong broadcast) => word != broadcast;
}
