using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Execution;

/// <summary>
/// Every value op of the IR, at every type it is used at, against hand-computed results:
/// once through the interpreter (a one-op block) and once through <see cref="IrEvaluator"/>
/// (what the constant folder uses), so both agree with IrOpcode's documentation.
/// </summary>
public sealed class InterpreterOpSemanticsTests
{
    private const ulong M64 = ulong.MaxValue;

    public static TheoryData<IrOpcode, IrType, ulong, ulong, ulong> Binary => new()
    {
        // op, type, a, b, expected
        { IrOpcode.Add, IrType.I8, 0xff, 0x01, 0x00 },
        { IrOpcode.Add, IrType.I16, 0xffff, 0x0002, 0x0001 },
        { IrOpcode.Add, IrType.I32, 0xffff_ffff, 1, 0 },
        { IrOpcode.Add, IrType.I64, M64, 2, 1 },
        { IrOpcode.Sub, IrType.I8, 0x00, 0x01, 0xff },
        { IrOpcode.Sub, IrType.I16, 0x1000, 0x1001, 0xffff },
        { IrOpcode.Sub, IrType.I32, 5, 7, 0xffff_fffe },
        { IrOpcode.Sub, IrType.I64, 0, 1, M64 },
        { IrOpcode.Mul, IrType.I8, 0x10, 0x11, 0x10 },
        { IrOpcode.Mul, IrType.I16, 0x0100, 0x0100, 0 },
        { IrOpcode.Mul, IrType.I32, 0x1_0001, 0x1_0001, 0x0002_0001 },
        { IrOpcode.Mul, IrType.I64, 0x1_0000_0001, 0x1_0000_0001, 0x2_0000_0001 },
        { IrOpcode.MulHiU, IrType.I8, 0xff, 0xff, 0xfe },
        { IrOpcode.MulHiU, IrType.I16, 0xffff, 0x0002, 0x0001 },
        { IrOpcode.MulHiU, IrType.I32, 0xffff_ffff, 0xffff_ffff, 0xffff_fffe },
        { IrOpcode.MulHiU, IrType.I64, M64, M64, 0xffff_ffff_ffff_fffe },
        { IrOpcode.MulHiS, IrType.I8, 0x80, 0x80, 0x40 },
        { IrOpcode.MulHiS, IrType.I8, 0xff, 0xff, 0x00 },
        { IrOpcode.MulHiS, IrType.I16, 0xffff, 0x0001, 0xffff },
        { IrOpcode.MulHiS, IrType.I32, 0x8000_0000, 0x0000_0002, 0xffff_ffff },
        { IrOpcode.MulHiS, IrType.I64, M64, 1, M64 },
        { IrOpcode.MulHiS, IrType.I64, 0x8000_0000_0000_0000, 0x8000_0000_0000_0000, 0x4000_0000_0000_0000 },
        { IrOpcode.And, IrType.I8, 0xf0, 0x3c, 0x30 },
        { IrOpcode.And, IrType.I64, M64, 0x1234, 0x1234 },
        { IrOpcode.Or, IrType.I16, 0xf000, 0x000f, 0xf00f },
        { IrOpcode.Or, IrType.I1, 0, 1, 1 },
        { IrOpcode.Xor, IrType.I32, 0xffff_ffff, 0x0f0f_0f0f, 0xf0f0_f0f0 },
        { IrOpcode.Xor, IrType.I1, 1, 1, 0 },
        { IrOpcode.CmpEq, IrType.I8, 0x80, 0x80, 1 },
        { IrOpcode.CmpEq, IrType.I64, 1, 2, 0 },
        { IrOpcode.CmpNe, IrType.I16, 1, 2, 1 },
        { IrOpcode.CmpNe, IrType.I32, 7, 7, 0 },
        { IrOpcode.CmpLtU, IrType.I8, 0x80, 0x7f, 0 },
        { IrOpcode.CmpLtU, IrType.I64, 1, M64, 1 },
        { IrOpcode.CmpLeU, IrType.I32, 5, 5, 1 },
        { IrOpcode.CmpLeU, IrType.I16, 0x8000, 0x7fff, 0 },
        { IrOpcode.CmpLtS, IrType.I8, 0x80, 0x7f, 1 },
        { IrOpcode.CmpLtS, IrType.I16, 0x7fff, 0x8000, 0 },
        { IrOpcode.CmpLtS, IrType.I32, 0xffff_ffff, 0, 1 },
        { IrOpcode.CmpLtS, IrType.I64, 0, M64, 0 },
        { IrOpcode.CmpLeS, IrType.I8, 0xff, 0xff, 1 },
        { IrOpcode.CmpLeS, IrType.I32, 0x8000_0000, 0x7fff_ffff, 1 },
        { IrOpcode.CmpLeS, IrType.I64, 1, 0x8000_0000_0000_0000, 0 },
    };

    public static TheoryData<IrOpcode, IrType, ulong, byte, ulong> Shifts => new()
    {
        // op, type, value, count, expected (counts are taken modulo the width)
        { IrOpcode.Shl, IrType.I8, 0x01, 7, 0x80 },
        { IrOpcode.Shl, IrType.I8, 0x01, 8, 0x01 },
        { IrOpcode.Shl, IrType.I8, 0xff, 4, 0xf0 },
        { IrOpcode.Shl, IrType.I16, 0x8001, 1, 0x0002 },
        { IrOpcode.Shl, IrType.I32, 1, 33, 2 },
        { IrOpcode.Shl, IrType.I64, 1, 63, 0x8000_0000_0000_0000 },
        { IrOpcode.Shl, IrType.I64, 1, 64, 1 },
        { IrOpcode.Shr, IrType.I8, 0x80, 7, 0x01 },
        { IrOpcode.Shr, IrType.I16, 0x8000, 16, 0x8000 },
        { IrOpcode.Shr, IrType.I32, 0x8000_0000, 31, 1 },
        { IrOpcode.Shr, IrType.I64, M64, 60, 0xf },
        { IrOpcode.Sar, IrType.I8, 0x80, 1, 0xc0 },
        { IrOpcode.Sar, IrType.I8, 0x40, 1, 0x20 },
        { IrOpcode.Sar, IrType.I16, 0x8000, 15, 0xffff },
        { IrOpcode.Sar, IrType.I32, 0x8000_0000, 4, 0xf800_0000 },
        { IrOpcode.Sar, IrType.I64, 0x8000_0000_0000_0000, 63, M64 },
        { IrOpcode.Sar, IrType.I64, 0x8000_0000_0000_0000, 64, 0x8000_0000_0000_0000 },
        { IrOpcode.Rol, IrType.I8, 0x81, 1, 0x03 },
        { IrOpcode.Rol, IrType.I8, 0x81, 8, 0x81 },
        { IrOpcode.Rol, IrType.I16, 0x8001, 4, 0x0018 },
        { IrOpcode.Rol, IrType.I32, 0x8000_0001, 31, 0xc000_0000 },
        { IrOpcode.Rol, IrType.I64, 0x8000_0000_0000_0000, 1, 1 },
        { IrOpcode.Rol, IrType.I64, 0x1234, 0, 0x1234 },
        { IrOpcode.Ror, IrType.I8, 0x81, 1, 0xc0 },
        { IrOpcode.Ror, IrType.I16, 0x0018, 4, 0x8001 },
        { IrOpcode.Ror, IrType.I32, 1, 1, 0x8000_0000 },
        { IrOpcode.Ror, IrType.I32, 1, 32, 1 },
        { IrOpcode.Ror, IrType.I64, 1, 1, 0x8000_0000_0000_0000 },
        { IrOpcode.Ror, IrType.I64, 0xff, 68, 0xf000_0000_0000_000f },
    };

    public static TheoryData<IrOpcode, IrType, ulong, ulong> Unary => new()
    {
        { IrOpcode.Not, IrType.I8, 0x0f, 0xf0 },
        { IrOpcode.Not, IrType.I1, 1, 0 },
        { IrOpcode.Not, IrType.I64, 0, M64 },
        { IrOpcode.Neg, IrType.I16, 1, 0xffff },
        { IrOpcode.Neg, IrType.I32, 0x8000_0000, 0x8000_0000 },
        { IrOpcode.Neg, IrType.I64, 0, 0 },
        { IrOpcode.Popcnt, IrType.I16, 0xf0f0, 8 },
        { IrOpcode.Popcnt, IrType.I64, M64, 64 },
        { IrOpcode.Ctz, IrType.I8, 0, 8 },
        { IrOpcode.Ctz, IrType.I32, 0, 32 },
        { IrOpcode.Ctz, IrType.I32, 0x10, 4 },
        { IrOpcode.Ctz, IrType.I64, 0x8000_0000_0000_0000, 63 },
        { IrOpcode.Clz, IrType.I16, 1, 15 },
        { IrOpcode.Clz, IrType.I16, 0, 16 },
        { IrOpcode.Clz, IrType.I32, 0x8000_0000, 0 },
        { IrOpcode.Clz, IrType.I64, 0, 64 },
        { IrOpcode.Clz, IrType.I64, 0xff, 56 },
        { IrOpcode.Bswap, IrType.I16, 0x1234, 0x3412 },
        { IrOpcode.Bswap, IrType.I32, 0x1234_5678, 0x7856_3412 },
        { IrOpcode.Bswap, IrType.I64, 0x0102_0304_0506_0708, 0x0807_0605_0403_0201 },
    };

    public static TheoryData<IrOpcode, IrType, IrType, ulong, ulong> Conversions => new()
    {
        // op, from, to, value, expected
        { IrOpcode.ZExt, IrType.I8, IrType.I64, 0x80, 0x80 },
        { IrOpcode.ZExt, IrType.I1, IrType.I32, 1, 1 },
        { IrOpcode.ZExt, IrType.I32, IrType.I64, 0xffff_ffff, 0xffff_ffff },
        { IrOpcode.SExt, IrType.I8, IrType.I64, 0x80, 0xffff_ffff_ffff_ff80 },
        { IrOpcode.SExt, IrType.I8, IrType.I16, 0x7f, 0x007f },
        { IrOpcode.SExt, IrType.I16, IrType.I32, 0x8000, 0xffff_8000 },
        { IrOpcode.SExt, IrType.I32, IrType.I64, 0x8000_0000, 0xffff_ffff_8000_0000 },
        { IrOpcode.SExt, IrType.I1, IrType.I8, 1, 0xff },
        { IrOpcode.Trunc, IrType.I64, IrType.I8, 0x1234, 0x34 },
        { IrOpcode.Trunc, IrType.I64, IrType.I32, 0xffff_ffff_0000_0001, 1 },
        { IrOpcode.Trunc, IrType.I16, IrType.I1, 0x0003, 1 },
        { IrOpcode.Trunc, IrType.I32, IrType.I16, 0x8765_4321, 0x4321 },
    };

    public static TheoryData<IrOpcode, IrType, ulong, ulong, ulong, ulong?> Divisions => new()
    {
        // op, type, high, low, divisor, expected (null: #DE)
        { IrOpcode.DivU, IrType.I8, 0x01, 0x00, 2, 0x80 },
        { IrOpcode.DivU, IrType.I8, 0x02, 0x00, 2, null },
        { IrOpcode.DivU, IrType.I8, 0x00, 0x07, 0, null },
        { IrOpcode.RemU, IrType.I8, 0x00, 0x07, 3, 1 },
        { IrOpcode.RemU, IrType.I16, 0x0001, 0x0000, 0x00ff, 0x0001 },
        { IrOpcode.DivU, IrType.I32, 0x0000_0001, 0x0000_0000, 0x10, 0x1000_0000 },
        { IrOpcode.DivU, IrType.I32, 0x0000_0001, 0x0000_0000, 0x01, null },
        { IrOpcode.DivU, IrType.I64, 1, 0, 2, 0x8000_0000_0000_0000 },
        { IrOpcode.DivU, IrType.I64, 1, 0, 1, null },
        { IrOpcode.RemU, IrType.I64, 0, M64, 10, 5 },
        { IrOpcode.RemU, IrType.I64, 5, 0, 5, null },
        { IrOpcode.DivS, IrType.I8, 0xff, 0xf9, 2, 0xfd },
        { IrOpcode.RemS, IrType.I8, 0xff, 0xf9, 2, 0xff },
        { IrOpcode.DivS, IrType.I8, 0x00, 0x80, 1, null },
        { IrOpcode.DivS, IrType.I8, 0xff, 0x80, 0xff, null },
        { IrOpcode.DivS, IrType.I16, 0xffff, 0x8000, 0xffff, null },
        { IrOpcode.DivS, IrType.I16, 0x0000, 0x0064, 0xfff9, 0xfff2 },
        { IrOpcode.RemS, IrType.I16, 0x0000, 0x0064, 0xfff9, 0x0002 },
        { IrOpcode.DivS, IrType.I32, 0xffff_ffff, 0x8000_0000, 0xffff_ffff, null },
        { IrOpcode.DivS, IrType.I32, 0xffff_ffff, 0x8000_0000, 1, 0x8000_0000 },
        { IrOpcode.DivS, IrType.I32, 0, 1, 0, null },
        { IrOpcode.DivS, IrType.I64, M64, 0x8000_0000_0000_0000, M64, null },
        { IrOpcode.DivS, IrType.I64, M64, 0, M64, null },
        { IrOpcode.DivS, IrType.I64, M64, M64 - 9, 3, M64 - 2 },
        { IrOpcode.RemS, IrType.I64, M64, M64 - 9, 3, M64 },
        { IrOpcode.RemS, IrType.I64, M64, 0x8000_0000_0000_0000, M64, null },
        // +2^63 / -1 = -2^63 fits; only -2^63 / -1 overflows.
        { IrOpcode.DivS, IrType.I64, 0, 0x8000_0000_0000_0000, M64, 0x8000_0000_0000_0000 },
        { IrOpcode.RemS, IrType.I64, 0, 0x8000_0000_0000_0000, M64, 0 },
    };

    [Theory]
    [MemberData(nameof(Binary))]
    public void Binary_ops_compute_the_documented_value(IrOpcode code, IrType type, ulong a, ulong b, ulong expected)
    {
        var (block, ir) = IrTestKit.NewBlock();
        var x = ir.Const(type, a);
        var y = ir.Const(type, b);
        var r = code >= IrOpcode.CmpEq ? ir.Compare(code, x, y) : ir.Binary(code, x, y);
        Assert.Equal(expected, RunToRax(block, ir, r));
        var resultType = code >= IrOpcode.CmpEq ? IrType.I1 : type;
        Assert.True(IrEvaluator.TryEvaluate(code, resultType, type, a, b, 0, out ulong folded));
        Assert.Equal(expected, folded);
    }

    [Theory]
    [MemberData(nameof(Shifts))]
    public void Shifts_and_rotates_take_the_count_modulo_the_width(IrOpcode code, IrType type, ulong value, byte count, ulong expected)
    {
        var (block, ir) = IrTestKit.NewBlock();
        var r = ir.Shift(code, ir.Const(type, value), ir.Const(IrType.I8, count));
        Assert.Equal(expected, RunToRax(block, ir, r));
        Assert.True(IrEvaluator.TryEvaluate(code, type, type, value, count, 0, out ulong folded));
        Assert.Equal(expected, folded);
    }

    [Theory]
    [MemberData(nameof(Unary))]
    public void Unary_ops_compute_the_documented_value(IrOpcode code, IrType type, ulong value, ulong expected)
    {
        var (block, ir) = IrTestKit.NewBlock();
        var r = ir.Unary(code, ir.Const(type, value));
        Assert.Equal(expected, RunToRax(block, ir, r));
        Assert.True(IrEvaluator.TryEvaluate(code, type, type, value, 0, 0, out ulong folded));
        Assert.Equal(expected, folded);
    }

    [Theory]
    [MemberData(nameof(Conversions))]
    public void Conversions_extend_and_truncate(IrOpcode code, IrType from, IrType to, ulong value, ulong expected)
    {
        var (block, ir) = IrTestKit.NewBlock();
        var x = ir.Const(from, value);
        var r = code switch
        {
            IrOpcode.ZExt => ir.ZExt(to, x),
            IrOpcode.SExt => ir.SExt(to, x),
            _ => ir.Trunc(to, x),
        };
        Assert.Equal(expected, RunToRax(block, ir, r));
        Assert.True(IrEvaluator.TryEvaluate(code, to, from, value, 0, 0, out ulong folded));
        Assert.Equal(expected, folded);
    }

    [Theory]
    [MemberData(nameof(Divisions))]
    public void Divisions_compute_or_raise_divide_error(IrOpcode code, IrType type, ulong high, ulong low, ulong divisor, ulong? expected)
    {
        var (block, ir) = IrTestKit.NewBlock();
        var r = ir.Divide(code, ir.Const(type, high), ir.Const(type, low), ir.Const(type, divisor));
        ir.PutReg(GuestReg.Rax, ir.ZExt(IrType.I64, r));
        ir.Exit(0x5000);
        var state = new VcpuState();
        state.Rip = IrTestKit.CodeBase;
        state[GuestReg.Rax] = 0xdead;
        var result = new IrInterpreter(new FlatMemory()).Execute(block, state);
        bool folds = IrEvaluator.TryDivide(code, type, high, low, divisor, out ulong folded);
        if (expected is { } value)
        {
            Assert.Equal(BlockEnd.Exit, result.End);
            Assert.Equal(value, state[GuestReg.Rax]);
            Assert.True(folds);
            Assert.Equal(value, folded);
        }
        else
        {
            Assert.Equal(BlockEnd.Fault, result.End);
            Assert.Equal(ExceptionVector.DivideError, result.Fault.Vector);
            Assert.Equal(IrTestKit.CodeBase, result.Fault.Rip);
            Assert.Equal(0, result.Retired);
            Assert.Equal(0xdeadUL, state[GuestReg.Rax]);
            Assert.False(folds);
        }
    }

    [Theory]
    [InlineData(1UL, 0x11UL)]
    [InlineData(0UL, 0x22UL)]
    public void Select_picks_by_its_condition(ulong cond, ulong expected)
    {
        var (block, ir) = IrTestKit.NewBlock();
        var r = ir.Select(ir.Const(IrType.I1, cond), ir.Const(IrType.I16, 0x11), ir.Const(IrType.I16, 0x22));
        Assert.Equal(expected, RunToRax(block, ir, r));
    }

    [Fact]
    public void Const_is_truncated_to_its_type()
    {
        var (block, ir) = IrTestKit.NewBlock();
        Assert.Equal(0x34UL, RunToRax(block, ir, ir.Const(IrType.I8, 0x1234)));
    }

    [Fact]
    public void GetReg_and_PutReg_move_whole_slots()
    {
        var (block, ir) = IrTestKit.NewBlock();
        ir.PutReg(GuestReg.R15, ir.GetReg(GuestReg.GsBase));
        ir.Exit(0x5000);
        var state = new VcpuState();
        state.Slots[GuestReg.GsBase] = 0xffff_8880_0000_1234;
        new IrInterpreter(new FlatMemory()).Execute(block, state);
        Assert.Equal(0xffff_8880_0000_1234UL, state[GuestReg.R15]);
    }

    /// <summary>Appends "rax = zext(value); exit", runs the block, returns RAX.</summary>
    private static ulong RunToRax(IrBlock block, IrBuilder ir, IrValue value)
    {
        ir.PutReg(GuestReg.Rax, ir.ZExt(IrType.I64, value));
        ir.Exit(0x5000);
        Assert.Empty(IrVerifier.Verify(block));
        var state = new VcpuState();
        var result = new IrInterpreter(new FlatMemory()).Execute(block, state);
        Assert.Equal(BlockEnd.Exit, result.End);
        Assert.Equal(0x5000UL, state.Rip);
        return state[GuestReg.Rax];
    }
}
