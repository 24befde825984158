using Drk.Hv.Cpu;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>PUSH and POP (registers incl. RSP, memory, immediates; 16- and 64-bit), PUSHFQ, POPFQ, LEAVE, ENTER.</summary>
public static class StackForms
{
    public static IEnumerable<InstructionForm> All()
    {
        foreach (var code in Encodings.Of(Mnemonic.Push, Mnemonic.Pop))
            foreach (var form in Encodings.Rows(code))
                yield return form;
        yield return new CodeForm(Code.Pushfq, false).ToForm();
        yield return new CodeForm(Code.Popfq, false) { Constrain = UserFlagsOnStack }.ToForm();
        yield return new CodeForm(Code.Pushfw, false).ToForm();
        yield return new CodeForm(Code.Popfw, false) { Constrain = UserFlagsOnStack16 }.ToForm();
        yield return new InstructionForm("popfq with IF, IOPL, NT, ID at random; pushfq", PopfqSystemBits);
        yield return new CodeForm(Code.Leaveq, false) { Constrain = FramePointer }.ToForm();
        yield return new CodeForm(Code.Enterq_imm16_imm8, false) { Constrain = EnterFrame }.ToForm();
    }

    /// <summary>POPFQ pops arithmetic flags and DF at random, IF and bit 1 set: nothing that would trap or change the host's behaviour (TF, AC).</summary>
    private static bool UserFlagsOnStack(OperandSet ops)
    {
        var b = ops.B;
        b.WriteScratch(b.Regs.Gpr[4], 8, EdgeValues.Rflags(b.Rng));
        return true;
    }

    /// <summary>POPFW: the low 16 bits of a user-safe RFLAGS value.</summary>
    private static bool UserFlagsOnStack16(OperandSet ops)
    {
        var b = ops.B;
        b.WriteScratch(b.Regs.Gpr[4], 2, EdgeValues.Rflags(b.Rng) & 0xFFFF);
        return true;
    }

    /// <summary>
    /// <c>popfq; pushfq</c> with IF, IOPL, NT and ID at random in the popped value: at CPL 3 the
    /// CPU ignores IF and IOPL and takes NT and ID, and the pushed image shows which. (AC and TF
    /// stay clear: they would trap on the host.)
    /// </summary>
    private static void PopfqSystemBits(CaseBuilder b)
    {
        ulong value = EdgeValues.Rflags(b.Rng) & ~Drk.Hv.Cpu.Rflags.IF;
        if (b.Rng.Next(2) == 0) value |= Drk.Hv.Cpu.Rflags.IF;
        value |= (ulong)b.Rng.Next(4) << 12; // IOPL
        if (b.Rng.Next(2) == 0) value |= Drk.Hv.Cpu.Rflags.NT;
        if (b.Rng.Next(2) == 0) value |= Drk.Hv.Cpu.Rflags.ID;
        b.WriteScratch(b.Regs.Gpr[4], 8, value);
        b.Code.Emit(Instruction.Create(Code.Popfq));
        b.Code.Emit(Instruction.Create(Code.Pushfq));
        b.Note = $"popped 0x{value:x}";
        b.Finish();
    }

    /// <summary>RBP points into the stack area (it becomes RSP), above or below RSP.</summary>
    private static bool FramePointer(OperandSet ops)
    {
        var b = ops.B;
        b.Pin(5, b.Layout.StackTop + (ulong)(8 * b.Rng.Next(-64, 64)) + (ulong)(b.Rng.Next(6) == 0 ? b.Rng.Next(1, 8) : 0));
        return true;
    }

    /// <summary>ENTER: frame sizes 0, small and up to 1 KiB; nesting levels 0, 1, 2, small, 31 and above (taken modulo 32); RBP in the stack area for the nested copies.</summary>
    private static bool EnterFrame(OperandSet ops)
    {
        var b = ops.B;
        int size = b.Rng.Next(4) switch { 0 => 0, 1 => 8 * b.Rng.Next(1, 16), 2 => b.Rng.Next(1, 64), _ => b.Rng.Next(0, 0x400) };
        int level = b.Rng.Next(6) switch { 0 => 0, 1 => 1, 2 => 2, 3 => b.Rng.Next(3, 8), 4 => 31, _ => b.Rng.Next(32, 256) };
        ops.Insn.SetImmediate(0, (ulong)size);
        ops.Insn.SetImmediate(1, (ulong)level);
        b.Pin(5, b.Layout.StackTop + (ulong)(8 * b.Rng.Next(0, 64)));
        b.Note = $"frame size {size}, nesting level {level} ({level % 32} after masking)";
        return true;
    }
}
