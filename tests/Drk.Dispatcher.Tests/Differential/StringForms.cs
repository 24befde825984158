using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// MOVS, STOS, LODS, CMPS and SCAS in byte, word, dword and qword sizes, plain and with REP
/// (MOVS/STOS/LODS) or REPE/REPNE (CMPS/SCAS); counts 0, 1, small and large; DF set and clear;
/// overlapping MOVS; CMPS/SCAS data arranged so the repeat stops early at a random element or
/// runs out of count.
/// </summary>
public static class StringForms
{
    private enum Op { Movs, Stos, Lods, Cmps, Scas }

    private const int Rcx = 1, Rsi = 6, Rdi = 7;

    public static IEnumerable<InstructionForm> All()
    {
        foreach (var op in Enum.GetValues<Op>())
            foreach (int size in new[] { 1, 2, 4, 8 })
            {
                var prefixes = op is Op.Cmps or Op.Scas
                    ? new[] { RepPrefixKind.None, RepPrefixKind.Repe, RepPrefixKind.Repne }
                    : new[] { RepPrefixKind.None, RepPrefixKind.Repe };
                foreach (var prefix in prefixes)
                {
                    string name = (prefix switch { RepPrefixKind.Repe => op is Op.Cmps or Op.Scas ? "repe " : "rep ", RepPrefixKind.Repne => "repne ", _ => "" })
                        + op.ToString().ToLowerInvariant() + Suffix(size);
                    var (o, s, p) = (op, size, prefix);
                    yield return new InstructionForm(name, b => Build(b, o, s, p));
                }
            }
    }

    /// <summary>A non-zero pattern inside an element of <paramref name="size"/> bytes.</summary>
    private static ulong Difference(Random rng, int size) => (ulong)rng.Next(1, 256) << (8 * rng.Next(size));

    private static string Suffix(int size) => size switch { 1 => "b", 2 => "w", 4 => "d", _ => "q" };

    private static Instruction Create(Op op, int size, RepPrefixKind prefix) => (op, size) switch
    {
        (Op.Movs, 1) => Instruction.CreateMovsb(64, Register.None, prefix),
        (Op.Movs, 2) => Instruction.CreateMovsw(64, Register.None, prefix),
        (Op.Movs, 4) => Instruction.CreateMovsd(64, Register.None, prefix),
        (Op.Movs, _) => Instruction.CreateMovsq(64, Register.None, prefix),
        (Op.Stos, 1) => Instruction.CreateStosb(64, prefix),
        (Op.Stos, 2) => Instruction.CreateStosw(64, prefix),
        (Op.Stos, 4) => Instruction.CreateStosd(64, prefix),
        (Op.Stos, _) => Instruction.CreateStosq(64, prefix),
        (Op.Lods, 1) => Instruction.CreateLodsb(64, Register.None, prefix),
        (Op.Lods, 2) => Instruction.CreateLodsw(64, Register.None, prefix),
        (Op.Lods, 4) => Instruction.CreateLodsd(64, Register.None, prefix),
        (Op.Lods, _) => Instruction.CreateLodsq(64, Register.None, prefix),
        (Op.Cmps, 1) => Instruction.CreateCmpsb(64, Register.None, prefix),
        (Op.Cmps, 2) => Instruction.CreateCmpsw(64, Register.None, prefix),
        (Op.Cmps, 4) => Instruction.CreateCmpsd(64, Register.None, prefix),
        (Op.Cmps, _) => Instruction.CreateCmpsq(64, Register.None, prefix),
        (Op.Scas, 1) => Instruction.CreateScasb(64, prefix),
        (Op.Scas, 2) => Instruction.CreateScasw(64, prefix),
        (Op.Scas, 4) => Instruction.CreateScasd(64, prefix),
        (_, _) => Instruction.CreateScasq(64, prefix),
    };

    private static void Build(CaseBuilder b, Op op, int size, RepPrefixKind prefix)
    {
        var rng = b.Rng;
        bool repeated = prefix != RepPrefixKind.None;
        int maxCount = 0x4000 / size;
        int count = rng.Next(6) switch
        {
            0 => 0,
            1 => 1,
            2 => rng.Next(2, 17),
            3 => rng.Next(17, 257),
            4 => rng.Next(257, maxCount + 1),
            _ => rng.Next(2, 64),
        };
        bool down = b.Flag(Drk.Hv.Cpu.Rflags.DF);
        int elements = repeated ? Math.Max(count, 1) : 1;
        int span = elements * size;

        // Source in [0x1000, 0x5800), destination in [0x6000, 0xB000) or overlapping the source.
        int srcLo = rng.Next(0x1000, 0x5800 - span + 1);
        int dstLo = rng.Next(5) == 0 && op == Op.Movs
            ? Math.Clamp(srcLo + rng.Next(-3 * size, 3 * size + 1), 0x1000, 0xB000 - span)
            : rng.Next(0x6000, 0xB000 - span + 1);
        ulong scratch = b.Layout.ScratchAddress;
        ulong First(int lo) => scratch + (ulong)lo + (down ? (ulong)(span - size) : 0);
        ulong Element(ulong first, int i) => down ? first - (ulong)(i * size) : first + (ulong)(i * size);
        ulong rsi = First(srcLo), rdi = First(dstLo);
        b.Pin(Rsi, rsi);
        b.Pin(Rdi, rdi);
        if (repeated) b.Pin(Rcx, (ulong)count);

        var accumulator = CaseBuilder.RegisterOf(0, size);
        int stopAt = rng.Next(elements + 2); // may be beyond the count: the repeat then runs out
        switch (op)
        {
            case Op.Cmps:
            {
                bool equalRun = prefix == RepPrefixKind.Repe || (prefix == RepPrefixKind.None && rng.Next(2) == 0);
                for (int i = 0; i < elements; i++)
                {
                    ulong v = b.ReadScratch(Element(rsi, i), size);
                    bool equal = equalRun ? i != stopAt : i == stopAt;
                    b.WriteScratch(Element(rdi, i), size, equal ? v : v ^ Difference(rng, size));
                }
                break;
            }
            case Op.Scas:
            {
                bool equalRun = prefix == RepPrefixKind.Repe || (prefix == RepPrefixKind.None && rng.Next(2) == 0);
                ulong acc = EdgeValues.Value(rng, 8 * size);
                b.Set(accumulator, acc);
                for (int i = 0; i < elements; i++)
                {
                    bool equal = equalRun ? i != stopAt : i == stopAt;
                    b.WriteScratch(Element(rdi, i), size, equal ? acc : acc ^ Difference(rng, size));
                }
                break;
            }
        }
        b.Note = $"count {(repeated ? count : 1)}, DF={(down ? 1 : 0)}, rsi={rsi:x}, rdi={rdi:x}" + (op is Op.Cmps or Op.Scas ? $", first stop candidate at element {stopAt}" : "");
        b.Code.Emit(Create(op, size, prefix));
        b.Finish();
    }
}
