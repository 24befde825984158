using Drk.Dispatcher.IR;
using Drk.Dispatcher.Lowering;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Lowering;

/// <summary>Decodes test encodings into guest instructions, lowers them and answers questions about the IR.</summary>
internal static class LoweringTestKit
{
    /// <summary>Where test code is placed unless a test says otherwise.</summary>
    public const ulong CodeBase = 0x40_1000;

    /// <summary>Decodes every instruction of <paramref name="hex"/> (64-bit mode) at <paramref name="rip"/>.</summary>
    public static GuestInstruction[] Decode(string hex, ulong rip = CodeBase) => Decode(Convert.FromHexString(hex), rip);

    public static GuestInstruction[] Decode(byte[] bytes, ulong rip = CodeBase)
    {
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(bytes));
        decoder.IP = rip;
        var list = new List<GuestInstruction>();
        while (decoder.IP < rip + (ulong)bytes.Length)
        {
            decoder.Decode(out var instruction);
            list.Add(new GuestInstruction(instruction));
        }
        return list.ToArray();
    }

    /// <summary>Assembles with Iced's assembler at <paramref name="rip"/>.</summary>
    public static byte[] Assemble(Action<Assembler> emit, ulong rip = CodeBase)
    {
        var assembler = new Assembler(64);
        emit(assembler);
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), rip);
        return stream.ToArray();
    }

    public static IrBlock Lower(string hex, int cpl = 0, ulong rip = CodeBase) => new Lowerer().Lower(Decode(hex, rip), cpl);

    public static IrBlock Lower(Action<Assembler> emit, int cpl = 0, ulong rip = CodeBase) =>
        new Lowerer().Lower(Decode(Assemble(emit, rip), rip), cpl);

    /// <summary>The ops of <paramref name="block"/> with opcode <paramref name="code"/>.</summary>
    public static List<IrOp> OpsOf(IrBlock block, IrOpcode code)
    {
        var list = new List<IrOp>();
        foreach (var op in block.Ops)
            if (op.Code == code) list.Add(op);
        return list;
    }

    /// <summary>The op that defines temp <paramref name="id"/>.</summary>
    public static IrOp Def(IrBlock block, ushort id)
    {
        foreach (var op in block.Ops)
            if (op.Dst == id) return op;
        throw new InvalidOperationException($"t{id} is not defined in\n{block}");
    }

    /// <summary>The value of a temp that is a constant; fails the test otherwise.</summary>
    public static ulong ConstOf(IrBlock block, ushort id)
    {
        var op = Def(block, id);
        Assert.True(op.Code == IrOpcode.Const, $"t{id} is {op}, not a constant, in\n{block}");
        return op.Imm;
    }

    /// <summary>True when temp <paramref name="id"/> is a GetReg of slot <paramref name="slot"/>.</summary>
    public static bool IsGetReg(IrBlock block, ushort id, int slot)
    {
        var op = Def(block, id);
        return op.Code == IrOpcode.GetReg && op.Aux == slot;
    }

    /// <summary>The block's last op (its terminator).</summary>
    public static IrOp Last(IrBlock block) => block.Ops[^1];

    public static bool IsTerminator(IrOpcode code) => Lowerer.IsTerminator(code);

    /// <summary>True for the ops that may raise a guest exception.</summary>
    public static bool MayFault(IrOpcode code) =>
        code is IrOpcode.Load or IrOpcode.Store or IrOpcode.System or IrOpcode.RaiseIf
            or IrOpcode.DivU or IrOpcode.DivS or IrOpcode.RemU or IrOpcode.RemS;
}
