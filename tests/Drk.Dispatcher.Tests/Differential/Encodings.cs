using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>Enumerates the 64-bit-mode encodings (Iced <see cref="Code"/>s) of mnemonics, and their reg/mem/lock rows.</summary>
public static class Encodings
{
    /// <summary>
    /// Every legacy or VEX encoding of the mnemonics valid in 64-bit mode with operands the
    /// generator supports, minus undocumented aliases gcc never emits (TEST F6 /1, F7 /1) and
    /// operand-size-16 forms whose behaviour differs between vendors (BSWAP r16).
    /// </summary>
    public static IEnumerable<Code> Of(params Mnemonic[] mnemonics)
    {
        foreach (var code in Enum.GetValues<Code>())
        {
            if (Array.IndexOf(mnemonics, code.Mnemonic()) < 0) continue;
            var info = code.ToOpCode();
            if (!info.Mode64) continue;
            if (info.Encoding is not (EncodingKind.Legacy or EncodingKind.VEX)) continue;
            if (!CodeForm.IsSupported(code)) continue;
            var name = code.ToString();
            if (name.EndsWith("_F6r1", StringComparison.Ordinal) || name.EndsWith("_F7r1", StringComparison.Ordinal)) continue;
            if (code == Code.Bswap_r16) continue;
            yield return code;
        }
    }

    /// <summary>
    /// The rows of <paramref name="code"/>: register and memory variants when it has an r/m
    /// operand, plus a LOCK row for the memory variant when LOCK is allowed.
    /// </summary>
    public static IEnumerable<InstructionForm> Rows(Code code, Func<Code, bool, bool, CodeForm> make)
    {
        if (!CodeForm.HasModRmChoice(code))
        {
            bool memoryOnly = UsesMemory(code);
            yield return make(code, memoryOnly, false).ToForm();
            if (memoryOnly && code.ToOpCode().CanUseLockPrefix) yield return make(code, true, true).ToForm();
            yield break;
        }
        yield return make(code, false, false).ToForm();
        yield return make(code, true, false).ToForm();
        if (code.ToOpCode().CanUseLockPrefix) yield return make(code, true, true).ToForm();
    }

    /// <summary>Rows with default generation.</summary>
    public static IEnumerable<InstructionForm> Rows(Code code) =>
        Rows(code, (c, memory, lockPrefix) => new CodeForm(c, memory) { Lock = lockPrefix });

    private static bool UsesMemory(Code code)
    {
        var info = code.ToOpCode();
        for (int i = 0; i < info.OpCount; i++)
            if (info.GetOpKind(i) is OpCodeOperandKind.mem or OpCodeOperandKind.mem_offs) return true;
        return false;
    }
}
