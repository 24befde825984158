using Drk.Dispatcher.Flags;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>Maps Iced's condition codes to the IR's <see cref="Condition"/> (x86 encoding order).</summary>
internal static class ConditionCodes
{
    /// <summary>The <see cref="Condition"/> of a Jcc/SETcc/CMOVcc/LOOPcc condition.</summary>
    public static Condition From(ConditionCode cc) => cc switch
    {
        ConditionCode.o => Condition.O,
        ConditionCode.no => Condition.NO,
        ConditionCode.b => Condition.B,
        ConditionCode.ae => Condition.AE,
        ConditionCode.e => Condition.E,
        ConditionCode.ne => Condition.NE,
        ConditionCode.be => Condition.BE,
        ConditionCode.a => Condition.A,
        ConditionCode.s => Condition.S,
        ConditionCode.ns => Condition.NS,
        ConditionCode.p => Condition.P,
        ConditionCode.np => Condition.NP,
        ConditionCode.l => Condition.L,
        ConditionCode.ge => Condition.GE,
        ConditionCode.le => Condition.LE,
        ConditionCode.g => Condition.G,
        _ => throw new ArgumentOutOfRangeException(nameof(cc), cc, "not a condition"),
    };
}
