using Drk.Dispatcher.IR;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Execution;

/// <summary>Builds small blocks by hand and assembles guest code for the interpreter, verifier and optimiser tests.</summary>
internal static class IrTestKit
{
    public const ulong CodeBase = 0x40_0000;

    /// <summary>Assembles with Iced at <paramref name="rip"/>.</summary>
    public static byte[] Assemble(Action<Assembler> emit, ulong rip = CodeBase)
    {
        var assembler = new Assembler(64);
        emit(assembler);
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), rip);
        return stream.ToArray();
    }

    /// <summary>Decodes all of <paramref name="bytes"/> at <paramref name="rip"/>.</summary>
    public static GuestInstruction[] Decode(byte[] bytes, ulong rip = CodeBase)
    {
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(bytes), rip);
        var list = new List<GuestInstruction>();
        while (decoder.IP < rip + (ulong)bytes.Length)
        {
            decoder.Decode(out var insn);
            list.Add(new GuestInstruction(insn));
        }
        return list.ToArray();
    }

    /// <summary>
    /// A block over <paramref name="instructionCount"/> one-byte NOPs at <paramref name="rip"/>,
    /// for hand-built IR whose ops name guest instructions 0..count-1.
    /// </summary>
    public static (IrBlock Block, IrBuilder Builder) NewBlock(int instructionCount = 1, ulong rip = CodeBase)
    {
        var insns = Decode(Enumerable.Repeat((byte)0x90, instructionCount).ToArray(), rip);
        var block = new IrBlock(rip, insns);
        return (block, new IrBuilder(block));
    }

    /// <summary>A verified block of <paramref name="instructions"/> NOPs at <paramref name="rip"/> whose IR <paramref name="build"/> writes.</summary>
    public static IrBlock Block(ulong rip, int instructions, Action<IrBuilder> build)
    {
        var (block, ir) = NewBlock(instructions, rip);
        build(ir);
        IrVerifier.ThrowIfInvalid(block, "test");
        return block;
    }

    /// <summary>RIP of NOP <paramref name="k"/> of a <see cref="NewBlock"/> block.</summary>
    public static ulong RipOf(int k) => CodeBase + (ulong)k;
}
