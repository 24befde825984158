using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>ADD ADC SUB SBB CMP NEG INC DEC AND OR XOR NOT TEST in every encoding and size, register, memory and LOCK rows.</summary>
public static class ArithmeticForms
{
    public static IEnumerable<InstructionForm> All()
    {
        foreach (var code in Encodings.Of(Mnemonic.Add, Mnemonic.Adc, Mnemonic.Sub, Mnemonic.Sbb, Mnemonic.Cmp,
                     Mnemonic.Neg, Mnemonic.Inc, Mnemonic.Dec, Mnemonic.And, Mnemonic.Or, Mnemonic.Xor, Mnemonic.Not, Mnemonic.Test))
            foreach (var form in Encodings.Rows(code))
                yield return form;
    }
}
