using Drk.Dispatcher.Tests.Native;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// BT BTS BTR BTC (immediate and register bit offsets, register and memory bases), BSF BSR,
/// TZCNT LZCNT POPCNT, and the BMI1/BMI2 forms ANDN BLSI BLSR BLSMSK BZHI SARX SHLX SHRX.
/// </summary>
public static class BitForms
{
    public static IEnumerable<InstructionForm> All()
    {
        foreach (var code in Encodings.Of(Mnemonic.Bt, Mnemonic.Bts, Mnemonic.Btr, Mnemonic.Btc))
            foreach (var form in Encodings.Rows(code, (c, memory, lockPrefix) => new CodeForm(c, memory) { Lock = lockPrefix, Constrain = BitOffset }))
                yield return form;
        foreach (var code in Encodings.Of(Mnemonic.Bsf, Mnemonic.Bsr))
            foreach (var form in Encodings.Rows(code, (c, memory, _) => new CodeForm(c, memory) { Constrain = ScanSource }))
                yield return form;
        foreach (var f in Rows(Mnemonic.Tzcnt, HostFeature.Bmi1, ZeroSourceSometimes)) yield return f;
        foreach (var f in Rows(Mnemonic.Lzcnt, HostFeature.Lzcnt, ZeroSourceSometimes)) yield return f;
        foreach (var f in Rows(Mnemonic.Popcnt, HostFeature.Popcnt, ZeroSourceSometimes)) yield return f;
        foreach (var f in Rows(Mnemonic.Andn, HostFeature.Bmi1, null)) yield return f;
        foreach (var f in Rows(Mnemonic.Blsi, HostFeature.Bmi1, ZeroSourceSometimes)) yield return f;
        foreach (var f in Rows(Mnemonic.Blsr, HostFeature.Bmi1, ZeroSourceSometimes)) yield return f;
        foreach (var f in Rows(Mnemonic.Blsmsk, HostFeature.Bmi1, ZeroSourceSometimes)) yield return f;
        foreach (var f in Rows(Mnemonic.Bzhi, HostFeature.Bmi2, BzhiIndex)) yield return f;
        foreach (var f in Rows(Mnemonic.Sarx, HostFeature.Bmi2, CountInThirdOperand)) yield return f;
        foreach (var f in Rows(Mnemonic.Shlx, HostFeature.Bmi2, CountInThirdOperand)) yield return f;
        foreach (var f in Rows(Mnemonic.Shrx, HostFeature.Bmi2, CountInThirdOperand)) yield return f;
    }

    private static IEnumerable<InstructionForm> Rows(Mnemonic mnemonic, HostFeature requires, CodeForm.Tweak? tweak)
    {
        foreach (var code in Encodings.Of(mnemonic))
            foreach (var form in Encodings.Rows(code, (c, memory, _) => new CodeForm(c, memory) { Requires = requires, Constrain = tweak }))
                yield return form;
    }

    private static bool BitOffset(OperandSet ops)
    {
        var b = ops.B;
        int bits = ops.Bits(0);
        if (ops.Kinds[1] == OperandKindChoice.Immediate)
        {
            ops.Insn.SetImmediate(1, EdgeValues.BitIndex(b.Rng, bits));
            return true;
        }
        var offsetRegister = ops.Registers[1];
        if (ops.Kinds[0] == OperandKindChoice.Memory)
        {
            // A register bit offset reaches memory far from the operand (signed offset / 8); keep it
            // within the 4 KiB margin PickDataAddress leaves around operands.
            if (b.IsPinned(CaseBuilder.Index(offsetRegister))) return false;
            long offset = b.Rng.Next(4) switch
            {
                0 => b.Rng.Next(-bits, 2 * bits),
                1 => b.Rng.Next(-0x4000, 0x4000),
                2 => b.Rng.Next(2) == 0 ? -1 : bits,
                _ => bits == 16 ? (short)b.Rng.Next(0x10000) : b.Rng.Next(-0x8000, 0x8000),
            };
            b.Set(offsetRegister, (ulong)offset);
            b.Note = $"bit offset {offset} (reaches {offset >> 3:+#;-#;0} bytes from the operand)";
        }
        else if (b.Rng.Next(2) == 0)
        {
            b.Set(offsetRegister, EdgeValues.BitIndex(b.Rng, bits));
        }
        return true;
    }

    private static bool ScanSource(OperandSet ops)
    {
        ZeroSourceSometimes(ops);
        if (ops.Value(1) == 0 && ops.Bits(0) == 32)
        {
            // BSF/BSR r32 with a zero source: AMD leaves the whole register, Intel clears bits 63:32.
            ops.B.GprDontCare[CaseBuilder.Index(ops.Registers[0])] = 0xFFFF_FFFF_0000_0000UL;
            ops.B.Note = "zero source: bits 63:32 of the destination differ between vendors and are not compared";
        }
        return true;
    }

    private static bool ZeroSourceSometimes(OperandSet ops)
    {
        int source = ops.Count - 1;
        if (ops.B.Rng.Next(5) == 0) ops.SetValue(source, 0);
        return true;
    }

    private static bool BzhiIndex(OperandSet ops)
    {
        // BZHI reads the index from bits 7:0 of the third operand; the rest is garbage on purpose.
        ops.B.Set(LowByte(ops.Registers[2]), EdgeValues.BitIndex(ops.B.Rng, ops.Bits(0)));
        return true;
    }

    private static bool CountInThirdOperand(OperandSet ops)
    {
        ops.B.Set(LowByte(ops.Registers[2]), EdgeValues.ShiftCount(ops.B.Rng, ops.Bits(0)));
        return true;
    }

    private static Register LowByte(Register reg) => CaseBuilder.RegisterOf(CaseBuilder.Index(reg), 1);
}
