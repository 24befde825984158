namespace Drk.Dispatcher.Tools.Shadow;

/// <summary>Passes when the shadow value has every bit of the operand (a mask of required rights) set.</summary>
internal readonly struct HasAllBitsTest : IShadowTest
{
    public static bool Fails(byte value, byte operand) => (value & operand) != operand;

    public static bool WordFails(ulong word, ulong broadcast) => (~word & broadcast) != 0;
}
