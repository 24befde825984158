namespace Drk.Dispatcher.Flags;

/// <summary>x86 condition codes in their encoding order (the low nibble of Jcc/SETcc/CMOVcc).</summary>
public enum Condition : byte
{
    O = 0, NO = 1, B = 2, AE = 3, E = 4, NE = 5, BE = 6, A = 7,
    S = 8, NS = 9, P = 10, NP = 11, L = 12, GE = 13, LE = 14, G = 15,
}
