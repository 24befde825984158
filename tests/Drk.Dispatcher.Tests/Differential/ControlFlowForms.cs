using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// Jcc (all 16 conditions, rel8 and rel32, forward and backward, taken and not), JRCXZ/JECXZ,
/// LOOP/LOOPE/LOOPNE (forward with any count, backward loops with small counts), JMP (rel8,
/// rel32, register, memory), CALL (rel32, register, memory; with and without a return) and RET
/// (with and without imm16). Which way a branch went shows in the registers a marker
/// instruction on each path writes, and in the return addresses left on the stack.
/// </summary>
public static class ControlFlowForms
{
    public static readonly Mnemonic[] Jcc =
    {
        Mnemonic.Jo, Mnemonic.Jno, Mnemonic.Jb, Mnemonic.Jae, Mnemonic.Je, Mnemonic.Jne, Mnemonic.Jbe, Mnemonic.Ja,
        Mnemonic.Js, Mnemonic.Jns, Mnemonic.Jp, Mnemonic.Jnp, Mnemonic.Jl, Mnemonic.Jge, Mnemonic.Jle, Mnemonic.Jg,
    };

    private const int Rsp = 4, Rcx = 1;

    public static IEnumerable<InstructionForm> All()
    {
        foreach (var mnemonic in Jcc)
            foreach (var code in new[] { Rel8(mnemonic), Rel32(mnemonic) })
                yield return new InstructionForm(code.ToString(), b => ConditionalBranch(b, code));
        yield return new InstructionForm(nameof(Code.Jrcxz_rel8_64), b => CountBranch(b, Code.Jrcxz_rel8_64, 64));
        yield return new InstructionForm(nameof(Code.Jecxz_rel8_64), b => CountBranch(b, Code.Jecxz_rel8_64, 32));
        foreach (var code in new[] { Code.Loop_rel8_64_RCX, Code.Loope_rel8_64_RCX, Code.Loopne_rel8_64_RCX,
                     Code.Loop_rel8_64_ECX, Code.Loope_rel8_64_ECX, Code.Loopne_rel8_64_ECX })
        {
            int bits = code.ToString().EndsWith("ECX", StringComparison.Ordinal) ? 32 : 64;
            yield return new InstructionForm(code + " forward", b => CountBranch(b, code, bits));
            yield return new InstructionForm(code + " backward loop", b => Loop(b, code, bits));
        }
        yield return new InstructionForm(nameof(Code.Jmp_rel8_64), b => Jump(b, Code.Jmp_rel8_64));
        yield return new InstructionForm(nameof(Code.Jmp_rel32_64), b => Jump(b, Code.Jmp_rel32_64));
        yield return new InstructionForm("Jmp_rm64 reg", b => IndirectTransfer(b, Code.Jmp_rm64, memory: false));
        yield return new InstructionForm("Jmp_rm64 mem", b => IndirectTransfer(b, Code.Jmp_rm64, memory: true));
        yield return new InstructionForm(nameof(Code.Call_rel32_64), b => Call(b));
        yield return new InstructionForm("Call_rm64 reg", b => IndirectTransfer(b, Code.Call_rm64, memory: false));
        yield return new InstructionForm("Call_rm64 mem", b => IndirectTransfer(b, Code.Call_rm64, memory: true));
        yield return new InstructionForm(nameof(Code.Retnq), b => Return(b, immediate: false));
        yield return new InstructionForm(nameof(Code.Retnq_imm16), b => Return(b, immediate: true));
    }

    private static Code Rel8(Mnemonic m) => Enum.Parse<Code>($"{m}_rel8_64");
    private static Code Rel32(Mnemonic m) => Enum.Parse<Code>($"{m}_rel32_64");

    /// <summary>mov r32, imm32 to a random register (not RSP or <paramref name="avoid"/>): marks that a path ran.</summary>
    private static void Marker(CaseBuilder b, int avoid = 0)
    {
        int gpr;
        do gpr = b.Rng.Next(16); while (gpr == Rsp || (avoid & (1 << gpr)) != 0);
        b.Code.Emit(Instruction.Create(Code.Mov_r32_imm32, Register.EAX + gpr, (uint)b.Rng.Next()));
    }

    /// <summary>Forward: <c>jcc L; marker; L:</c>. Backward: <c>jmp S; B: marker; jmp E; S: jcc B; marker; E:</c>.</summary>
    private static void ConditionalBranch(CaseBuilder b, Code code, int avoid = 0)
    {
        var e = b.Code;
        if (b.Rng.Next(2) == 0)
        {
            int skip = e.CreateLabel();
            e.Branch(code, skip);
            Marker(b, avoid);
            e.Bind(skip);
        }
        else
        {
            int start = e.CreateLabel(), back = e.CreateLabel(), end = e.CreateLabel();
            e.Branch(Code.Jmp_rel8_64, start);
            e.Bind(back);
            Marker(b, avoid);
            e.Branch(Code.Jmp_rel8_64, end);
            e.Bind(start);
            e.Branch(code, back);
            Marker(b, avoid);
            e.Bind(end);
        }
        b.Finish();
    }

    /// <summary>JRCXZ/JECXZ and forward LOOPcc: the count register is often 0 or 1, otherwise an edge value.</summary>
    private static void CountBranch(CaseBuilder b, Code code, int bits)
    {
        ulong count = b.Rng.Next(4) switch { 0 => 0, 1 => 1, _ => EdgeValues.Value(b.Rng, bits) };
        b.Set(bits == 64 ? Register.RCX : Register.ECX, count);
        // LOOP forward with RCX = 1 or 0 wraps; backward loops are in Loop().
        ConditionalBranch(b, code, avoid: 1 << Rcx);
    }

    /// <summary>
    /// <c>L: inc edx; cmp edx, ebx; loopcc L</c> with a count of 1..40 (ECX forms: garbage in
    /// RCX's upper half), and EBX chosen so that ZF becomes 1 at some iteration or never.
    /// </summary>
    private static void Loop(CaseBuilder b, Code code, int bits)
    {
        var e = b.Code;
        int count = b.Rng.Next(1, 41);
        b.Set(bits == 64 ? Register.RCX : Register.ECX, (ulong)count);
        if (bits == 64) b.Pin(Rcx, (ulong)count);
        ulong edx = b.Get(Register.EDX);
        b.Set(Register.EBX, (uint)(edx + (ulong)b.Rng.Next(0, 50)));
        int top = e.CreateLabel();
        e.Bind(top);
        e.Emit(Instruction.Create(Code.Inc_rm32, Register.EDX));
        e.Emit(Instruction.Create(Code.Cmp_rm32_r32, Register.EDX, Register.EBX));
        e.Branch(code, top);
        b.Note = $"count {count}";
        b.Finish();
    }

    private static void Jump(CaseBuilder b, Code code)
    {
        var e = b.Code;
        int skip = e.CreateLabel();
        e.Branch(code, skip);
        Marker(b);
        e.Bind(skip);
        Marker(b);
        b.Finish();
    }

    /// <summary>CALL rel32 to a label right after it (the return address stays on the stack), or to a function that returns.</summary>
    private static void Call(CaseBuilder b)
    {
        var e = b.Code;
        if (b.Rng.Next(2) == 0)
        {
            int target = e.CreateLabel();
            e.Branch(Code.Call_rel32_64, target);
            Marker(b);
            e.Bind(target);
        }
        else
        {
            int function = e.CreateLabel(), end = e.CreateLabel();
            e.Branch(Code.Call_rel32_64, function);
            Marker(b);
            e.Branch(Code.Jmp_rel8_64, end);
            e.Bind(function);
            Marker(b);
            e.Emit(Instruction.Create(Code.Retnq));
            e.Bind(end);
        }
        b.Finish();
    }

    /// <summary>JMP/CALL through a register or memory holding the address of a label further on.</summary>
    private static void IndirectTransfer(CaseBuilder b, Code code, bool memory)
    {
        var e = b.Code;
        int target = e.CreateLabel();
        ulong slot = 0;
        int register = -1;
        if (memory)
        {
            slot = b.PickDataAddress(8);
            var m = b.PickMemory(slot);
            e.Emit(Instruction.Create(code, m));
        }
        else
        {
            do register = b.Rng.Next(16); while (register == Rsp);
            e.Emit(Instruction.Create(code, Register.RAX + register));
        }
        Marker(b, register >= 0 ? 1 << register : 0);
        e.Bind(target);
        Marker(b, register >= 0 ? 1 << register : 0);
        b.Finish();
        if (memory) b.WriteScratch(slot, 8, e.AddressOf(target));
        else b.Pin(register, e.AddressOf(target));
    }

    /// <summary>RET to an address placed on the stack (RET imm16 also releases 0, 8 or up to 512 bytes).</summary>
    private static void Return(CaseBuilder b, bool immediate)
    {
        var e = b.Code;
        int target = e.CreateLabel();
        if (immediate)
        {
            ushort release = (ushort)(b.Rng.Next(3) switch { 0 => 0, 1 => 8, _ => b.Rng.Next(0, 0x200) });
            e.Emit(Instruction.Create(Code.Retnq_imm16, release));
        }
        else
        {
            e.Emit(Instruction.Create(Code.Retnq));
        }
        Marker(b);
        e.Bind(target);
        Marker(b);
        b.Finish();
        b.WriteScratch(b.Regs.Gpr[Rsp], 8, e.AddressOf(target));
    }
}
