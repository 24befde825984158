using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>NOP in all encodings (0x90 with prefixes, 0F 1F /0 with register and memory operands, the multi-byte sequences assemblers pad with), PAUSE, ENDBR64, LFENCE/MFENCE/SFENCE, CLC/STC/CMC/CLD/STD.</summary>
public static class MiscForms
{
    /// <summary>The recommended long NOPs (SDM vol. 2B, NOP) and gcc's prefixed "cs nopw" paddings, 1 to 15 bytes.</summary>
    public static readonly byte[][] LongNops =
    {
        new byte[] { 0x90 },
        new byte[] { 0x66, 0x90 },
        new byte[] { 0x0F, 0x1F, 0x00 },
        new byte[] { 0x0F, 0x1F, 0x40, 0x00 },
        new byte[] { 0x0F, 0x1F, 0x44, 0x00, 0x00 },
        new byte[] { 0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00 },
        new byte[] { 0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00 },
        new byte[] { 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
        new byte[] { 0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
        new byte[] { 0x66, 0x2E, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
        new byte[] { 0x66, 0x66, 0x2E, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
        new byte[] { 0x66, 0x66, 0x66, 0x2E, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
        new byte[] { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x2E, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
        new byte[] { 0x4C, 0x0F, 0x1F, 0x04, 0x24 }, // nop [rsp] with REX
        new byte[] { 0xF3, 0x0F, 0x1E, 0xFA }, // endbr64
        new byte[] { 0xF3, 0x90 }, // pause
    };

    public static IEnumerable<InstructionForm> All()
    {
        foreach (var code in Encodings.Of(Mnemonic.Nop, Mnemonic.Pause, Mnemonic.Endbr64, Mnemonic.Lfence, Mnemonic.Mfence,
                     Mnemonic.Sfence, Mnemonic.Clc, Mnemonic.Stc, Mnemonic.Cmc, Mnemonic.Cld, Mnemonic.Std))
            foreach (var form in Encodings.Rows(code))
                yield return form;
        yield return new InstructionForm("long NOP paddings", b =>
        {
            int n = b.Rng.Next(1, 6);
            for (int i = 0; i < n; i++) b.Code.Raw(LongNops[b.Rng.Next(LongNops.Length)]);
            b.Finish();
        });
    }
}
