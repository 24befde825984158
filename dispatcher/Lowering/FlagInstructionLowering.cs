using Drk.Dispatcher.Flags;
using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Lowering;

/// <summary>Lowers the instructions that set flags directly: CLC, STC, CMC, CLD, STD, LAHF, SAHF.</summary>
public sealed class FlagInstructionLowering : IInstructionLowering
{
    /// <summary>The flags LAHF and SAHF move: SF, ZF, AF, PF, CF.</summary>
    private const ulong AhFlags = Rflags.SF | Rflags.ZF | Rflags.AF | Rflags.PF | Rflags.CF;

    /// <inheritdoc />
    public bool TryLower(LoweringContext cx)
    {
        var b = cx.B;
        switch (cx.Insn.Mnemonic)
        {
            case Mnemonic.Clc:
                cx.SetFlagsCopy(b.And(cx.ArithmeticFlags(), cx.Const64(~Rflags.CF)));
                return true;
            case Mnemonic.Stc:
                cx.SetFlagsCopy(b.Or(cx.ArithmeticFlags(), cx.Const64(Rflags.CF)));
                return true;
            case Mnemonic.Cmc:
                cx.SetFlagsCopy(b.Xor(cx.ArithmeticFlags(), cx.Const64(Rflags.CF)));
                return true;
            case Mnemonic.Cld:
                cx.Put(GuestReg.FlagsOther, b.And(cx.Get(GuestReg.FlagsOther), cx.Const64(~Rflags.DF)));
                return true;
            case Mnemonic.Std:
                cx.Put(GuestReg.FlagsOther, b.Or(cx.Get(GuestReg.FlagsOther), cx.Const64(Rflags.DF)));
                return true;
            case Mnemonic.Lahf:
            {
                // AH = SF:ZF:0:AF:0:PF:1:CF
                var bits = b.Or(b.And(cx.ArithmeticFlags(), cx.Const64(AhFlags)), cx.Const64(Rflags.Reserved1));
                cx.WriteGpr(Register.AH, b.Trunc(IR.IrType.I8, bits));
                return true;
            }
            case Mnemonic.Sahf:
            {
                var ah = b.ZExt(IR.IrType.I64, cx.ReadGpr(Register.AH));
                var keptOverflow = b.And(cx.ArithmeticFlags(), cx.Const64(Rflags.OF));
                cx.SetFlagsCopy(b.Or(keptOverflow, b.And(ah, cx.Const64(AhFlags))));
                return true;
            }
            default:
                return false;
        }
    }
}
