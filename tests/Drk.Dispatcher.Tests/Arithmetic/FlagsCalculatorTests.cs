using Drk.Hv.Cpu;
using Drk.Dispatcher.Flags;

namespace Drk.Dispatcher.Tests.Arithmetic;

/// <summary>
/// <see cref="FlagsCalculator"/> against hand-checked vectors (carry out, signed overflow, parity,
/// AF at every size), and <see cref="FlagsCalculator.Evaluate"/>'s fast paths against
/// <see cref="FlagsCalculator.Compute"/>.
/// </summary>
public sealed class FlagsCalculatorTests
{
    // RFLAGS bits, spelled out so that the expected values below read as hand-checked sums
    private const ulong CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;

    private static ulong Flags(FlagsKind kind, int bytes, ulong dep1, ulong dep2, ulong ndep = 0) =>
        FlagsCalculator.Compute(FlagsOps.Make(kind, bytes), dep1, dep2, ndep);

    [Theory]
    // 0xff + 1: carry out, zero, carry out of bit 3, even parity of 0
    [InlineData(1, 0xffUL, 0x01UL, CF | ZF | AF | PF)]
    // 0x7f + 1 = 0x80: signed overflow, sign, AF; 0x80 has one bit set (odd parity)
    [InlineData(1, 0x7fUL, 0x01UL, OF | SF | AF)]
    // 0x80 + 0x80 = 0 with carry: two negatives give a positive
    [InlineData(1, 0x80UL, 0x80UL, CF | OF | ZF | PF)]
    [InlineData(2, 0x7fffUL, 0x0001UL, OF | SF | AF | PF)]
    [InlineData(2, 0xffffUL, 0x0001UL, CF | ZF | AF | PF)]
    // 0xffffffff + 0xffffffff = 0xfffffffe carry; 0xfe has seven bits set
    [InlineData(4, 0xffff_ffffUL, 0xffff_ffffUL, CF | SF | AF)]
    [InlineData(4, 0x7fff_ffffUL, 0x0000_0001UL, OF | SF | AF | PF)]
    [InlineData(8, 0x8000_0000_0000_0000UL, 0x8000_0000_0000_0000UL, CF | OF | ZF | PF)]
    [InlineData(8, 0x7fff_ffff_ffff_ffffUL, 1UL, OF | SF | AF | PF)]
    [InlineData(8, 1UL, 2UL, PF)]
    // a carry out of bit 31 is no carry for a 64-bit add
    [InlineData(8, 0xffff_ffffUL, 1UL, AF | PF)]
    public void Add(int bytes, ulong a, ulong b, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Add, bytes, a, b));

    [Theory]
    [InlineData(1, 0xffUL, 0x00UL, 1UL, CF | ZF | AF | PF)]
    [InlineData(1, 0x7fUL, 0x00UL, 1UL, OF | SF | AF)]
    // 0xff + 0xff + 1 = 0x1ff: the carry-in must not hide the carry out
    [InlineData(1, 0xffUL, 0xffUL, 1UL, CF | SF | AF | PF)]
    [InlineData(1, 0xffUL, 0xffUL, 0UL, CF | SF | AF)]
    [InlineData(2, 0x7fffUL, 0xffffUL, 1UL, CF | AF | PF)]
    [InlineData(4, 0xffff_ffffUL, 0x0000_0000UL, 1UL, CF | ZF | AF | PF)]
    [InlineData(8, ulong.MaxValue, ulong.MaxValue, 1UL, CF | SF | AF | PF)]
    [InlineData(8, 5UL, 6UL, 0UL, 0UL)]
    public void AddWithCarry(int bytes, ulong a, ulong b, ulong carry, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Adc, bytes, a, b, carry));

    [Theory]
    // 0 - 1: borrow, sign, borrow into bit 4, 0xff even parity
    [InlineData(1, 0x00UL, 0x01UL, CF | SF | AF | PF)]
    // 0x80 - 1 = 0x7f: a negative minus a positive gives a positive
    [InlineData(1, 0x80UL, 0x01UL, OF | AF)]
    [InlineData(1, 0x05UL, 0x05UL, ZF | PF)]
    [InlineData(2, 0x8000UL, 0x0001UL, OF | AF | PF)]
    // 1 - 0x80000000 = 0x80000001: borrow, and positive minus negative overflows
    [InlineData(4, 0x0000_0001UL, 0x8000_0000UL, CF | OF | SF)]
    [InlineData(8, 3UL, 5UL, CF | SF | AF)]
    [InlineData(8, 0UL, 0x8000_0000_0000_0000UL, CF | OF | SF | PF)]
    [InlineData(8, 0x8000_0000_0000_0000UL, 0UL, SF | PF)]
    public void Sub(int bytes, ulong a, ulong b, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Sub, bytes, a, b));

    [Theory]
    [InlineData(1, 0x00UL, 0x00UL, 1UL, CF | SF | AF | PF)]
    // 5 - 5 - 1: equal operands borrow when a borrow comes in
    [InlineData(1, 0x05UL, 0x05UL, 1UL, CF | SF | AF | PF)]
    [InlineData(1, 0x05UL, 0x05UL, 0UL, ZF | PF)]
    [InlineData(1, 0x80UL, 0x00UL, 1UL, OF | AF)]
    [InlineData(2, 0x0000UL, 0xffffUL, 1UL, CF | ZF | PF | AF)]
    [InlineData(4, 0x0000_0000UL, 0xffff_ffffUL, 0UL, CF | AF)]
    [InlineData(8, 10UL, 3UL, 0UL, 0UL)]
    [InlineData(8, 0UL, ulong.MaxValue, 1UL, CF | ZF | PF | AF)]
    public void SubWithBorrow(int bytes, ulong a, ulong b, ulong borrow, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Sbb, bytes, a, b, borrow));

    [Theory]
    [InlineData(1, 0x00UL, ZF | PF)]
    [InlineData(1, 0x80UL, SF)]
    [InlineData(2, 0x8000UL, SF | PF)]
    [InlineData(4, 0x8000_0000UL, SF | PF)]
    // bit 31 is no sign for a 64-bit result
    [InlineData(8, 0x8000_0000UL, PF)]
    [InlineData(8, 3UL, PF)]
    [InlineData(8, 0x8000_0000_0000_0001UL, SF)]
    public void Logic(int bytes, ulong result, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Logic, bytes, result, 0));

    [Theory]
    // INC 0x7f = 0x80 with CF set before: CF kept, overflow, AF from the 0xf -> 0x0 nibble
    [InlineData(1, 0x80UL, 1UL, CF | OF | SF | AF)]
    [InlineData(1, 0x00UL, 0UL, ZF | AF | PF)]
    [InlineData(2, 0x8000UL, 0UL, OF | SF | AF | PF)]
    [InlineData(8, 0x8000_0000_0000_0000UL, 0UL, OF | SF | AF | PF)]
    // ndep may hold all old flags: only CF is taken from it
    [InlineData(4, 5UL, CF | PF | AF | ZF | SF | OF, CF | PF)]
    public void Increment(int bytes, ulong result, ulong oldFlags, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Inc, bytes, result, 0, oldFlags));

    [Theory]
    // DEC 0x80 = 0x7f: overflow, borrow into bit 4
    [InlineData(1, 0x7fUL, 0UL, OF | AF)]
    [InlineData(1, 0xffUL, 1UL, CF | SF | AF | PF)]
    [InlineData(2, 0x0000UL, 0UL, ZF | PF)]
    [InlineData(4, 0x7fff_ffffUL, 0UL, OF | AF | PF)]
    [InlineData(8, 0x7fff_ffff_ffff_ffffUL, CF | ZF, CF | OF | AF | PF)]
    public void Decrement(int bytes, ulong result, ulong oldFlags, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Dec, bytes, result, 0, oldFlags));

    [Theory]
    // SHL 0x80, 1: the bit shifted out was 1, the sign changed; AF = 1 after shifts (see FlagsKind)
    [InlineData(1, 0x00UL, 0x80UL, CF | OF | ZF | PF | AF)]
    [InlineData(1, 0x80UL, 0x40UL, OF | SF | AF)]
    [InlineData(8, 2UL, 1UL, AF)]
    // SHL 0xffffffff, 4 = 0xfffffff0; the value shifted by 3 has its top bit set
    [InlineData(4, 0xffff_fff0UL, 0xffff_fff8UL, CF | SF | PF | AF)]
    [InlineData(2, 0x0000UL, 0x0000UL, ZF | PF | AF)]
    public void ShiftLeft(int bytes, ulong result, ulong shiftedByCountLessOne, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Shl, bytes, result, shiftedByCountLessOne));

    [Theory]
    // SHR 0x81, 1 = 0x40: CF = old bit 0, OF = old sign bit
    [InlineData(1, 0x40UL, 0x81UL, CF | OF | AF)]
    [InlineData(8, 0x0fUL, 0x1fUL, CF | PF | AF)]
    [InlineData(8, 0x00UL, 0x00UL, ZF | PF | AF)]
    // SHRD with a result whose sign differs from the destination's (count 1)
    [InlineData(2, 0x8000UL, 0x0002UL, OF | SF | PF | AF)]
    public void ShiftRight(int bytes, ulong result, ulong shiftedByCountLessOne, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Shr, bytes, result, shiftedByCountLessOne));

    [Theory]
    [InlineData(1, 0xc0UL, 0x81UL, CF | SF | PF | AF)]
    [InlineData(2, 0xffffUL, 0xfffeUL, SF | PF | AF)]
    [InlineData(8, ulong.MaxValue, ulong.MaxValue, CF | SF | PF | AF)]
    public void ShiftArithmeticRight(int bytes, ulong result, ulong shiftedByCountLessOne, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Sar, bytes, result, shiftedByCountLessOne));

    [Theory]
    // ROL 0x81, 1 = 0x03: CF = bit 0 of the result, OF = sign ^ CF; other flags from before
    [InlineData(1, 0x03UL, 0UL, CF | OF)]
    [InlineData(1, 0x80UL, CF | PF | AF | ZF | SF | OF, OF | PF | AF | ZF | SF)]
    [InlineData(8, 1UL, ZF | PF, CF | OF | ZF | PF)]
    [InlineData(4, 0x8000_0001UL, 0UL, CF)]
    public void RotateLeft(int bytes, ulong result, ulong oldFlags, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Rol, bytes, result, 0, oldFlags));

    [Theory]
    // ROR 0x01, 1 = 0x80: CF = sign of the result, OF = the two top bits differ
    [InlineData(1, 0x80UL, 0UL, CF | OF)]
    [InlineData(1, 0x01UL, CF | PF | AF | ZF | SF, PF | AF | ZF | SF)]
    [InlineData(2, 0x4000UL, 0UL, OF)]
    [InlineData(4, 0x8000_0001UL, 0UL, CF | OF)]
    [InlineData(8, 0xc000_0000_0000_0000UL, 0UL, CF)]
    public void RotateRight(int bytes, ulong result, ulong oldFlags, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.Ror, bytes, result, 0, oldFlags));

    [Theory]
    // 0x10 * 0x10 = 0x100: a non-zero high half
    [InlineData(1, 0x00UL, 0x01UL, CF | OF | ZF | PF)]
    [InlineData(8, 5UL, 0UL, PF)]
    [InlineData(2, 0x8000UL, 0UL, SF | PF)]
    [InlineData(4, 0UL, 0xffff_ffffUL, CF | OF | ZF | PF)]
    public void UnsignedMultiply(int bytes, ulong low, ulong high, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.UMul, bytes, low, high));

    [Theory]
    // -1 * 1: the high half is the sign extension of the low half
    [InlineData(1, 0xffUL, 0xffUL, SF | PF)]
    // 0x40 * 2 = 0x80 = +128 does not fit a signed byte
    [InlineData(1, 0x80UL, 0x00UL, CF | OF | SF)]
    [InlineData(8, 0x8000_0000_0000_0000UL, ulong.MaxValue, SF | PF)]
    [InlineData(4, 0x7fff_ffffUL, 0xffff_ffffUL, CF | OF | PF)]
    [InlineData(2, 0x0001UL, 0x0000UL, 0UL)]
    public void SignedMultiply(int bytes, ulong low, ulong high, ulong expected) =>
        Assert.Equal(expected, Flags(FlagsKind.SMul, bytes, low, high));

    [Theory]
    [InlineData(FlagsKind.Blsi, 8, 0x10UL, 0x30UL, CF)]
    [InlineData(FlagsKind.Blsi, 8, 0UL, 0UL, ZF | PF)]
    [InlineData(FlagsKind.Blsi, 4, 0x8000_0000UL, 0x8000_0000UL, CF | SF | PF)]
    [InlineData(FlagsKind.Blsmsk, 4, 0xffff_ffffUL, 0UL, CF | SF | PF)]
    [InlineData(FlagsKind.Blsmsk, 8, 0x1fUL, 0x10UL, 0UL)]
    [InlineData(FlagsKind.Blsr, 4, 0UL, 0UL, CF | ZF | PF)]
    [InlineData(FlagsKind.Blsr, 8, 0x10UL, 0x18UL, 0UL)]
    [InlineData(FlagsKind.Blsr, 4, 0x8000_0000UL, 0x8000_0001UL, SF | PF)]
    // TZCNT of 0 (64-bit): the count is 64, CF = source was 0
    [InlineData(FlagsKind.Blsr, 8, 64UL, 0UL, CF)]
    [InlineData(FlagsKind.Bzhi, 8, 0UL, 1UL, CF | ZF | PF)]
    [InlineData(FlagsKind.Bzhi, 8, 1UL, 1UL, CF)]
    [InlineData(FlagsKind.Bzhi, 4, 0x8000_0000UL, 0UL, SF | PF)]
    public void BitManipulation(FlagsKind kind, int bytes, ulong result, ulong dep2, ulong expected) =>
        Assert.Equal(expected, Flags(kind, bytes, result, dep2));

    [Fact]
    public void CopyKeepsOnlyTheArithmeticFlags()
    {
        Assert.Equal(CF | PF | AF | ZF | SF | OF, FlagsCalculator.Compute(FlagsOps.Copy, ulong.MaxValue, 0, 0));
        Assert.Equal(0UL, FlagsCalculator.Compute(FlagsOps.Copy, Drk.Hv.Cpu.Rflags.IF | Drk.Hv.Cpu.Rflags.Reserved1 | Drk.Hv.Cpu.Rflags.DF, 0, 0));
    }

    [Fact]
    public void AnUnknownKindIsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => FlagsCalculator.Compute(0xff, 0, 0, 0));

    [Theory]
    // CMP 0x80, 0x01 (8-bit): -128 < 1 signed, 128 > 1 unsigned
    [InlineData(1, 0x80UL, 0x01UL, Condition.L, true)]
    [InlineData(1, 0x80UL, 0x01UL, Condition.B, false)]
    [InlineData(1, 0x80UL, 0x01UL, Condition.A, true)]
    [InlineData(1, 0x80UL, 0x01UL, Condition.O, true)]
    [InlineData(1, 0x80UL, 0x01UL, Condition.S, false)]
    [InlineData(4, 0xffff_ffffUL, 0x0000_0000UL, Condition.L, true)]
    [InlineData(4, 0xffff_ffffUL, 0xffff_ffffUL, Condition.E, true)]
    [InlineData(4, 0xffff_ffffUL, 0xffff_ffffUL, Condition.LE, true)]
    [InlineData(4, 0xffff_ffffUL, 0xffff_ffffUL, Condition.G, false)]
    [InlineData(8, 0x8000_0000UL, 0x7fff_ffffUL, Condition.G, true)]
    [InlineData(8, 0x8000_0000_0000_0000UL, 0UL, Condition.GE, false)]
    [InlineData(8, 3UL, 2UL, Condition.P, false)]
    [InlineData(8, 3UL, 0UL, Condition.P, true)]
    public void ConditionsAfterCompare(int bytes, ulong a, ulong b, Condition cond, bool expected) =>
        Assert.Equal(expected, FlagsCalculator.Evaluate(cond, FlagsOps.Make(FlagsKind.Sub, bytes), a, b, 0));

    [Fact]
    public void EvaluateAgreesWithComputeForEveryKindSizeAndCondition()
    {
        var random = new Random(20240611);
        ulong[] edges = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff,
            0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, ulong.MaxValue };
        int checkedCases = 0;
        foreach (FlagsKind kind in Enum.GetValues<FlagsKind>())
        {
            foreach (int bytes in new[] { 1, 2, 4, 8 })
            {
                ulong ccOp = FlagsOps.Make(kind, bytes);
                ulong mask = ulong.MaxValue >> (64 - 8 * bytes);
                for (int i = 0; i < 400; i++)
                {
                    ulong dep1 = Pick(random, edges) & mask;
                    ulong dep2 = Pick(random, edges) & mask;
                    ulong ndep = kind is FlagsKind.Adc or FlagsKind.Sbb ? (ulong)random.Next(2) : (ulong)random.NextInt64() & Drk.Hv.Cpu.Rflags.Arithmetic;
                    ulong flags = FlagsCalculator.Compute(ccOp, dep1, dep2, ndep);
                    for (int c = 0; c < 16; c++)
                    {
                        var cond = (Condition)c;
                        bool fromFlags = FlagsCalculator.Test(cond, flags);
                        Assert.True(fromFlags == FlagsCalculator.Evaluate(cond, ccOp, dep1, dep2, ndep),
                            $"{cond} on {kind}/{bytes} dep1={dep1:x} dep2={dep2:x} ndep={ndep:x}: flags {flags:x} say {fromFlags}");
                        checkedCases++;
                    }
                }
            }
        }
        Assert.Equal(Enum.GetValues<FlagsKind>().Length * 4 * 400 * 16, checkedCases);
    }

    [Fact]
    public void EvaluateAndComputeAllocateNothing()
    {
        var kinds = Enum.GetValues<FlagsKind>();
        long sink = 0;
        void Work()
        {
            for (int i = 0; i < 10_000; i++)
            {
                ulong ccOp = FlagsOps.Make(kinds[i % kinds.Length], 1 << (i & 3));
                sink += FlagsCalculator.Evaluate((Condition)(i & 15), ccOp, (ulong)i & 0xff, 7, 1) ? 1 : 0;
                sink += (long)FlagsCalculator.Compute(ccOp, (ulong)i & 0xff, 3, 0);
            }
        }
        Work(); // JIT and static initialisation
        Assert.Equal(0, AllocationProbe.FewestBytes(Work));
        Assert.NotEqual(0, sink);
    }

    [Theory]
    [InlineData(Condition.O, OF, true)]
    [InlineData(Condition.NO, OF, false)]
    [InlineData(Condition.B, CF, true)]
    [InlineData(Condition.BE, ZF, true)]
    [InlineData(Condition.A, 0UL, true)]
    [InlineData(Condition.L, SF, true)]
    [InlineData(Condition.L, SF | OF, false)]
    [InlineData(Condition.LE, ZF | SF | OF, true)]
    [InlineData(Condition.G, OF, false)]
    [InlineData(Condition.G, SF | OF, true)]
    [InlineData(Condition.NP, PF, false)]
    public void TestReadsTheRightFlags(Condition cond, ulong flags, bool expected) =>
        Assert.Equal(expected, FlagsCalculator.Test(cond, flags));

    private static ulong Pick(Random random, ulong[] edges) =>
        random.Next(3) == 0 ? (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40) : edges[random.Next(edges.Length)];
}
