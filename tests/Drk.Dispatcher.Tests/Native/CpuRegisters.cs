using Drk.Hv.Cpu;
using System.Text;
using Drk.Dispatcher.Flags;

namespace Drk.Dispatcher.Tests.Native;

/// <summary>The user-visible integer state a differential case starts from and ends in: 16 GPRs and RFLAGS.</summary>
public sealed class CpuRegisters
{
    /// <summary>RAX..R15 in x86 encoding order.</summary>
    public readonly ulong[] Gpr = new ulong[16];

    public ulong Rflags;

    private static readonly string[] Names =
    {
        "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    };

    /// <summary>The name of GPR <paramref name="index"/> (x86 encoding order).</summary>
    public static string Name(int index) => Names[index];

    public void CopyFrom(CpuRegisters other)
    {
        other.Gpr.AsSpan().CopyTo(Gpr);
        Rflags = other.Rflags;
    }

    /// <summary>The RFLAGS bits a differential test can compare: the six arithmetic flags and DF.</summary>
    public const ulong ComparableFlags = Drk.Hv.Cpu.Rflags.Arithmetic | Drk.Hv.Cpu.Rflags.DF;

    /// <summary>Names of the set bits among <see cref="ComparableFlags"/>, e.g. "CF ZF DF".</summary>
    public static string FlagNames(ulong rflags)
    {
        var sb = new StringBuilder();
        foreach (var (bit, name) in FlagBits)
        {
            if ((rflags & bit) == 0) continue;
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(name);
        }
        return sb.Length == 0 ? "-" : sb.ToString();
    }

    /// <summary>The comparable flags with their names, in RFLAGS bit order.</summary>
    public static readonly (ulong Bit, string Name)[] FlagBits =
    {
        (Drk.Hv.Cpu.Rflags.CF, "CF"), (Drk.Hv.Cpu.Rflags.PF, "PF"), (Drk.Hv.Cpu.Rflags.AF, "AF"), (Drk.Hv.Cpu.Rflags.ZF, "ZF"),
        (Drk.Hv.Cpu.Rflags.SF, "SF"), (Drk.Hv.Cpu.Rflags.DF, "DF"), (Drk.Hv.Cpu.Rflags.OF, "OF"),
    };

    /// <inheritdoc />
    public override string ToString()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 16; i++)
        {
            sb.Append($"{Names[i],3}={Gpr[i]:x16}");
            sb.Append(i % 4 == 3 ? '\n' : ' ');
        }
        sb.Append($"rflags={Rflags:x} ({FlagNames(Rflags)})");
        return sb.ToString();
    }
}
