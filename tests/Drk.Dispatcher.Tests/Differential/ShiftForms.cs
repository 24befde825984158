using Drk.Hv.Cpu;
using Drk.Dispatcher.Flags;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// SHL SAL SHR SAR ROL ROR RCL RCR by 1, imm8 and CL, and SHLD SHRD by imm8 and CL, with counts
/// 0, 1, width-1, width, width+1 and counts of 32, 64 and more (masked by the CPU).
/// </summary>
/// <remarks>
/// Where the SDM leaves a result undefined the case either avoids it (SHLD/SHRD r16 with a
/// masked count above 16) or does not compare it (CF and OF of SHL/SHR r8/r16 by a masked count
/// of at least the width).
/// </remarks>
public static class ShiftForms
{
    public static IEnumerable<InstructionForm> All()
    {
        foreach (var code in Encodings.Of(Mnemonic.Shl, Mnemonic.Sal, Mnemonic.Shr, Mnemonic.Sar,
                     Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Rcl, Mnemonic.Rcr))
            foreach (var form in Encodings.Rows(code, (c, memory, _) => new CodeForm(c, memory) { Constrain = ShiftCount }))
                yield return form;
        foreach (var code in Encodings.Of(Mnemonic.Shld, Mnemonic.Shrd))
            foreach (var form in Encodings.Rows(code, (c, memory, _) => new CodeForm(c, memory) { Constrain = DoubleShiftCount }))
                yield return form;
    }

    private static bool ShiftCount(OperandSet ops)
    {
        var b = ops.B;
        int bits = ops.Bits(0);
        bool byOne = ops.Insn.GetOpKind(1) == OpKind.Immediate8 && ops.Insn.Code.ToString().EndsWith("_1", StringComparison.Ordinal);
        if (ops.Kinds[1] == OperandKindChoice.Register) b.Set(Register.CL, EdgeValues.ShiftCount(b.Rng, bits));
        else if (!byOne) ops.Insn.SetImmediate(1, EdgeValues.ShiftCount(b.Rng, bits));
        ulong count = ops.Value(1) & 0x1F;
        if (bits == 64) count = ops.Value(1) & 0x3F;
        if (ops.Insn.Mnemonic is Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr && bits <= 16 && count >= (ulong)bits)
        {
            // SDM: "CF is undefined for SHL and SHR where the count is greater than or equal to the size of the destination".
            b.UndefinedFlags |= Drk.Hv.Cpu.Rflags.CF | Drk.Hv.Cpu.Rflags.OF;
            b.Note = $"masked count {count} >= width {bits}: CF undefined";
        }
        return true;
    }

    private static bool DoubleShiftCount(OperandSet ops)
    {
        var b = ops.B;
        int bits = ops.Bits(0);
        for (int tries = 0; tries < 16; tries++)
        {
            byte count = EdgeValues.ShiftCount(b.Rng, bits);
            if (ops.Kinds[2] == OperandKindChoice.Register) b.Set(Register.CL, count);
            else ops.Insn.SetImmediate(2, count);
            // SDM: for a 16-bit operand a masked count above 16 leaves result and flags undefined.
            if (bits != 16 || (ops.Value(2) & 0x1F) <= 16) return true;
        }
        return false;
    }
}
