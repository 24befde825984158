using System.Text;
using Drk.Hv.Cpu;

namespace Drk.Hv;

/// <summary>Formats a vCPU's registers for diagnostics (triple fault, crashes in tests).</summary>
public static class VcpuStateDump
{
    /// <summary>A multi-line dump; RFLAGS comes from <paramref name="flags"/> when given, else only FlagsOther.</summary>
    public static string Format(VcpuState state, IFlagsAccess? flags = null)
    {
        var s = state.Slots;
        var sys = state.Sys;
        var b = new StringBuilder();
        for (int i = 0; i < 16; i++)
        {
            b.Append($"{GuestReg.Name(i),3}={s[i]:x16}");
            b.Append(i % 4 == 3 ? '\n' : ' ');
        }
        string rflags;
        try { rflags = flags != null ? $"{flags.ReadRflags(state):x8}" : $"{s[GuestReg.FlagsOther]:x8} (non-arithmetic)"; }
        catch (Exception e) when (e is NotImplementedException or InvalidOperationException) { rflags = "?"; }
        b.Append($"rip={state.Rip:x16} rflags={rflags} cpl={state.Cpl}\n");
        b.Append($"cs={sys.Cs:x4} ss={sys.Ss:x4} ds={sys.Ds:x4} es={sys.Es:x4} fs={sys.Fs:x4} gs={sys.Gs:x4} ");
        b.Append($"fs_base={s[GuestReg.FsBase]:x16} gs_base={s[GuestReg.GsBase]:x16} kgs_base={sys.KernelGsBase:x16}\n");
        b.Append($"cr0={sys.Cr0:x8} cr2={sys.Cr2:x16} cr3={sys.Cr3:x16} cr4={sys.Cr4:x8} efer={sys.Efer:x}\n");
        b.Append($"gdtr={sys.Gdtr} idtr={sys.Idtr} tr={sys.Tr}\n");
        b.Append($"retired={state.InstructionsRetired} ticks={state.Ticks} halted={sys.Halted}");
        return b.ToString();
    }
}
