using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// MOV (incl. imm64 and moffs), MOVZX, MOVSX, MOVSXD, LEA (64- and 32-bit addressing), XCHG,
/// CMPXCHG, CMPXCHG16B, XADD, BSWAP, CBW/CWDE/CDQE, CWD/CDQ/CQO, CMOVcc and SETcc for all 16
/// conditions, LAHF and SAHF.
/// </summary>
public static class DataMovementForms
{
    private const int Rax = 1 << 0, Rdx = 1 << 2;

    public static readonly Mnemonic[] Cmovcc =
    {
        Mnemonic.Cmovo, Mnemonic.Cmovno, Mnemonic.Cmovb, Mnemonic.Cmovae, Mnemonic.Cmove, Mnemonic.Cmovne, Mnemonic.Cmovbe, Mnemonic.Cmova,
        Mnemonic.Cmovs, Mnemonic.Cmovns, Mnemonic.Cmovp, Mnemonic.Cmovnp, Mnemonic.Cmovl, Mnemonic.Cmovge, Mnemonic.Cmovle, Mnemonic.Cmovg,
    };

    public static readonly Mnemonic[] Setcc =
    {
        Mnemonic.Seto, Mnemonic.Setno, Mnemonic.Setb, Mnemonic.Setae, Mnemonic.Sete, Mnemonic.Setne, Mnemonic.Setbe, Mnemonic.Seta,
        Mnemonic.Sets, Mnemonic.Setns, Mnemonic.Setp, Mnemonic.Setnp, Mnemonic.Setl, Mnemonic.Setge, Mnemonic.Setle, Mnemonic.Setg,
    };

    public static IEnumerable<InstructionForm> All()
    {
        foreach (var code in Encodings.Of(Mnemonic.Mov, Mnemonic.Movzx, Mnemonic.Movsx, Mnemonic.Movsxd, Mnemonic.Xchg, Mnemonic.Xadd,
                     Mnemonic.Bswap, Mnemonic.Cbw, Mnemonic.Cwde, Mnemonic.Cdqe, Mnemonic.Cwd, Mnemonic.Cdq, Mnemonic.Cqo,
                     Mnemonic.Lahf, Mnemonic.Sahf))
            foreach (var form in Encodings.Rows(code))
                yield return form;
        foreach (var code in Encodings.Of(Mnemonic.Lea))
        {
            yield return new CodeForm(code, true).ToForm();
            yield return new CodeForm(code, true) { AddressSize32 = true }.ToForm();
        }
        foreach (var code in Encodings.Of(Mnemonic.Cmpxchg))
            foreach (var form in Encodings.Rows(code, (c, memory, lockPrefix) => new CodeForm(c, memory)
                     {
                         Lock = lockPrefix,
                         AvoidForAddress = Rax,
                         Constrain = AccumulatorEqualSometimes,
                     }))
                yield return form;
        foreach (var lockPrefix in new[] { false, true })
            yield return new CodeForm(Code.Cmpxchg16b_m128, true)
            {
                Lock = lockPrefix,
                Alignment = 16,
                AvoidForAddress = Rax | Rdx,
                Constrain = PairEqualSometimes,
            }.ToForm();
        foreach (var code in Encodings.Of(Cmovcc))
            foreach (var form in Encodings.Rows(code))
                yield return form;
        foreach (var code in Encodings.Of(Setcc))
            foreach (var form in Encodings.Rows(code))
                yield return form;
    }

    /// <summary>CMPXCHG: half the cases make the accumulator equal to the destination so the exchange happens.</summary>
    private static bool AccumulatorEqualSometimes(OperandSet ops)
    {
        if (ops.B.Rng.Next(2) == 0)
            ops.B.Set(CaseBuilder.RegisterOf(0, ops.Sizes[0]), ops.Value(0));
        return true;
    }

    /// <summary>CMPXCHG16B: half the cases make RDX:RAX equal to the memory operand.</summary>
    private static bool PairEqualSometimes(OperandSet ops)
    {
        var b = ops.B;
        ulong address = ops.Addresses[0];
        if (b.Rng.Next(2) == 0)
        {
            b.Set(Register.RAX, b.ReadScratch(address, 8));
            b.Set(Register.RDX, b.ReadScratch(address + 8, 8));
        }
        else if (b.Rng.Next(2) == 0)
        {
            // Equal low halves only: the comparison must use all 128 bits.
            b.Set(Register.RAX, b.ReadScratch(address, 8));
        }
        return true;
    }
}
