using Drk.Hv.Cpu;
using System.Text;
using Drk.Dispatcher.Tests.Native;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>Decodes a case's code for the comparison (which flags are defined) and for failure reports (listing, IR).</summary>
public static class CodeListing
{
    /// <summary>The instructions of <paramref name="code"/> decoded linearly from <paramref name="rip"/>.</summary>
    public static List<Instruction> Decode(byte[] code, ulong rip)
    {
        var list = new List<Instruction>();
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(code), rip);
        ulong end = rip + (ulong)code.Length;
        while (decoder.IP < end) list.Add(decoder.Decode());
        return list;
    }

    /// <summary>
    /// RFLAGS bits that may be undefined after running <paramref name="code"/> straight through:
    /// a flag is undefined once an instruction leaves it so (Iced's RflagsUndefined) and defined
    /// again once a later instruction writes, sets or clears it.
    /// </summary>
    public static ulong UndefinedFlags(List<Instruction> code)
    {
        RflagsBits undefined = RflagsBits.None;
        foreach (var i in code) undefined = UndefinedAfter(undefined, i);
        return ToRflags(undefined);
    }

    /// <summary>
    /// The flags possibly undefined after <paramref name="insn"/> when <paramref name="undefined"/>
    /// were before it. A shift or rotate whose masked count may be 0 (by CL, or by an immediate
    /// that masks to 0) leaves the flags as they were, so it cannot make an undefined flag defined.
    /// </summary>
    public static RflagsBits UndefinedAfter(RflagsBits undefined, in Instruction insn)
    {
        var defines = insn.RflagsWritten | insn.RflagsCleared | insn.RflagsSet;
        if (MayKeepFlags(insn)) defines = RflagsBits.None;
        return (undefined & ~defines) | insn.RflagsUndefined;
    }

    private static bool MayKeepFlags(in Instruction insn)
    {
        if (insn.Mnemonic is not (Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Rol
            or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr or Mnemonic.Shld or Mnemonic.Shrd))
            return false;
        int countOperand = insn.OpCount - 1;
        if (insn.GetOpKind(countOperand) == OpKind.Register) return true;
        int mask = insn.MemorySize.GetSize() == 8 || (insn.Op0Kind == OpKind.Register && insn.Op0Register.GetSize() == 8) ? 0x3F : 0x1F;
        return (insn.GetImmediate(countOperand) & (ulong)mask) == 0;
    }

    /// <summary>Iced's flag bits as RFLAGS bits (the comparable ones).</summary>
    public static ulong ToRflags(RflagsBits bits)
    {
        ulong r = 0;
        if ((bits & RflagsBits.CF) != 0) r |= Drk.Hv.Cpu.Rflags.CF;
        if ((bits & RflagsBits.PF) != 0) r |= Drk.Hv.Cpu.Rflags.PF;
        if ((bits & RflagsBits.AF) != 0) r |= Drk.Hv.Cpu.Rflags.AF;
        if ((bits & RflagsBits.ZF) != 0) r |= Drk.Hv.Cpu.Rflags.ZF;
        if ((bits & RflagsBits.SF) != 0) r |= Drk.Hv.Cpu.Rflags.SF;
        if ((bits & RflagsBits.OF) != 0) r |= Drk.Hv.Cpu.Rflags.OF;
        if ((bits & RflagsBits.DF) != 0) r |= Drk.Hv.Cpu.Rflags.DF;
        return r;
    }

    /// <summary>One line per instruction: address, bytes, Intel syntax.</summary>
    public static string Format(List<Instruction> code, byte[] bytes, ulong rip)
    {
        var sb = new StringBuilder();
        var formatter = new IntelFormatter();
        var output = new StringOutput();
        foreach (var i in code)
        {
            formatter.Format(i, output);
            int at = (int)(i.IP - rip);
            string hex = Convert.ToHexString(bytes, at, Math.Min(i.Length, bytes.Length - at)).ToLowerInvariant();
            sb.Append($"  {i.IP:x}  {hex,-30} {output.ToStringAndReset()}\n");
        }
        return sb.ToString();
    }

    /// <summary>Intel syntax of one instruction.</summary>
    public static string Text(in Instruction insn)
    {
        var output = new StringOutput();
        new IntelFormatter().Format(insn, output);
        return output.ToStringAndReset();
    }

    /// <summary>The addresses and initial bytes of the first instruction's memory operands.</summary>
    public static string MemoryOperands(in Instruction first, CpuRegisters initial, CaseBuilder builder)
    {
        var sb = new StringBuilder();
        var info = new InstructionInfoFactory().GetInfo(first);
        var regs = initial.Gpr;
        int n = 0;
        foreach (var m in info.GetUsedMemory())
        {
            bool ok = m.TryGetVirtualAddress(0, out ulong address, (Register reg, int _, int _, out ulong value) =>
            {
                value = 0;
                if (reg == Register.None) return true;
                // Segment bases: 0 in 64-bit mode except FS and GS.
                if (reg == Register.FS) { value = builder.FsBase; return true; }
                if (reg == Register.GS) { value = builder.GsBase; return true; }
                if (reg.IsSegmentRegister()) return true;
                if (reg.IsGPR())
                {
                    value = regs[reg.GetFullRegister() - Register.RAX];
                    if (reg.GetSize() == 4) value &= 0xFFFF_FFFF;
                    return true;
                }
                return false;
            });
            if (!ok) continue;
            if (m.MemorySize == MemorySize.Unknown) continue;
            int size = Math.Max(1, m.MemorySize.GetSize());
            sb.Append($"  [{address:x}] {m.Access} {size} bytes");
            if (builder.Layout.InScratch(address, size))
                sb.Append(" = ").Append(Convert.ToHexString(builder.Scratch, builder.Offset(address), Math.Min(size, 32)).ToLowerInvariant())
                  .Append($" (scratch+0x{builder.Offset(address):x})");
            sb.Append('\n');
            if (++n == 4) break;
        }
        return sb.ToString();
    }
}
