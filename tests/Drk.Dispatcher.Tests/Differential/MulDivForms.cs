using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// MUL, IMUL (one, two and three operands) and DIV/IDIV. Division cases choose the dividend from
/// a random quotient and remainder so that they never fault natively (#DE is tested through the
/// interpreter only, in <see cref="InterpreterFaultTests"/>).
/// </summary>
public static class MulDivForms
{
    private const int RaxRdx = (1 << 0) | (1 << 2);

    public static IEnumerable<InstructionForm> All()
    {
        foreach (var code in Encodings.Of(Mnemonic.Mul, Mnemonic.Imul))
            foreach (var form in Encodings.Rows(code))
                yield return form;
        foreach (var code in Encodings.Of(Mnemonic.Div, Mnemonic.Idiv))
        {
            bool signed = code.Mnemonic() == Mnemonic.Idiv;
            foreach (var form in Encodings.Rows(code, (c, memory, _) => new CodeForm(c, memory)
                     {
                         AvoidForAddress = RaxRdx,
                         Constrain = ops => ChooseDividend(ops, signed),
                     }))
                yield return form;
        }
    }

    /// <summary>Sets RDX:RAX (AX for 8-bit) to q * divisor + r with the quotient in range; false when no such dividend exists for the registers chosen (e.g. DIV RDX).</summary>
    public static bool ChooseDividend(OperandSet ops, bool signed)
    {
        var b = ops.B;
        var rng = b.Rng;
        int bits = ops.Bits(0);
        ulong mask = EdgeValues.Mask(bits);
        if (ops.Value(0) == 0) ops.SetValue(0, EdgeValues.Value(rng, bits) | 1);
        ulong d = ops.Value(0);
        if (d == 0) return false;

        UInt128 dividend;
        if (!signed)
        {
            ulong q = EdgeValues.Value(rng, bits);
            ulong r = EdgeValues.NextUInt64(rng) % d;
            dividend = (UInt128)q * d + r;
        }
        else
        {
            Int128 ds = (long)CodeForm.SignExtend(d, bits);
            Int128 q = (long)CodeForm.SignExtend(EdgeValues.Value(rng, bits), bits);
            Int128 magnitude = ds < 0 ? -ds : ds;
            Int128 r = (Int128)(EdgeValues.NextUInt64(rng) % (ulong)(UInt128)magnitude);
            Int128 product = q * ds;
            if (product < 0 || (product == 0 && rng.Next(2) == 0)) r = -r;
            dividend = (UInt128)(product + r);
        }
        ulong low = (ulong)dividend & mask;
        ulong high = (ulong)(dividend >> bits) & mask;
        if (bits == 8) b.Set(Register.AX, (high << 8) | low);
        else
        {
            b.Set(CaseBuilder.RegisterOf(0, bits / 8), low);
            b.Set(CaseBuilder.RegisterOf(2, bits / 8), high);
        }
        b.Note = "dividend chosen so that the division does not fault";
        return !Faults(ops, signed);
    }

    /// <summary>True when the division as now set up would raise #DE.</summary>
    public static bool Faults(OperandSet ops, bool signed)
    {
        var b = ops.B;
        int bits = ops.Bits(0);
        ulong d = ops.Value(0);
        if (d == 0) return true;
        UInt128 dividend = bits == 8
            ? b.Get(Register.AX)
            : ((UInt128)b.Get(CaseBuilder.RegisterOf(2, bits / 8)) << bits) | b.Get(CaseBuilder.RegisterOf(0, bits / 8));
        if (!signed) return dividend / d > EdgeValues.Mask(bits);
        Int128 n = (Int128)(dividend << (128 - 2 * bits)) >> (128 - 2 * bits);
        Int128 q = n / (long)CodeForm.SignExtend(d, bits);
        Int128 max = (Int128)1 << (bits - 1);
        return q >= max || q < -max;
    }
}
