using Drk.Dispatcher.Tests.Native;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// Multi-instruction cases: random straight-line sequences (register-only and with memory
/// operands), flag producer/consumer pairs (the lazy-flags paths: SETcc, Jcc, CMOVcc, ADC/SBB,
/// RCL/RCR, PUSHFQ, LAHF after every kind of producer), a loop with loads and stores, and a
/// called function with a stack frame.
/// </summary>
/// <remarks>
/// Memory operands in sequences go through R12 (base) and R13 (index), which no instruction of
/// the pool writes, so addresses computed from the initial state stay valid. Instructions whose
/// safety or definedness depends on run-time values (DIV, BSF/BSR, BT with a register offset
/// into memory, 8/16-bit shifts) are left out of the pool; their single-instruction forms cover them.
/// </remarks>
public static class SequenceForms
{
    private const int Rsp = 4, R12 = 12, R13 = 13;
    private const int SequenceAvoid = (1 << Rsp) | (1 << R12) | (1 << R13);

    private static readonly Lazy<CodeForm[]> RegisterPool = new(() => Pool(memory: false));
    private static readonly Lazy<CodeForm[]> MixedPool = new(() => Pool(memory: true));
    private static readonly Lazy<CodeForm[]> ProducerPool = new(Producers);

    public static IEnumerable<InstructionForm> All()
    {
        yield return new InstructionForm("sequence: register operations", b => RandomSequence(b, RegisterPool.Value), caseMultiplier: 10);
        yield return new InstructionForm("sequence: register and memory operations", b => RandomSequence(b, MixedPool.Value), caseMultiplier: 10);
        foreach (var consumer in Enum.GetValues<FlagConsumer>())
        {
            var c = consumer;
            yield return new InstructionForm($"flags: producer then {c}", b => ProducerConsumer(b, c), caseMultiplier: 5);
        }
        yield return new InstructionForm("sequence: with forward branches", b => SequenceWithBranches(b, MixedPool.Value), caseMultiplier: 10);
        yield return new InstructionForm("loop: load, operate, store", LoadStoreLoop);
        yield return new InstructionForm("loop: multi-precision ADC/SBB with the carry kept by INC/DEC", CarryChainLoop);
        yield return new InstructionForm("call: function with a stack frame", FunctionWithFrame);
    }

    /// <summary>The ways flags are read after being set.</summary>
    public enum FlagConsumer { Setcc, Jcc, Cmovcc, AdcSbb, RclRcr, Pushfq, Lahf }

    private static CodeForm[] Pool(bool memory)
    {
        var list = new List<CodeForm>();
        void Add(IEnumerable<Code> codes, Func<Code, bool>? filter = null)
        {
            foreach (var code in codes)
            {
                if (filter != null && !filter(code)) continue;
                bool modRm = CodeForm.HasModRmChoice(code);
                bool memoryOnly = !modRm && UsesMemory(code);
                if (memoryOnly && !memory) continue;
                list.Add(new CodeForm(code, memoryOnly) { AvoidForOperands = SequenceAvoid });
                if (modRm && memory)
                {
                    list.Add(new CodeForm(code, true) { AvoidForOperands = SequenceAvoid });
                    if (code.ToOpCode().CanUseLockPrefix) list.Add(new CodeForm(code, true) { AvoidForOperands = SequenceAvoid, Lock = true });
                }
            }
        }
        Add(Encodings.Of(Mnemonic.Add, Mnemonic.Adc, Mnemonic.Sub, Mnemonic.Sbb, Mnemonic.Cmp, Mnemonic.Neg, Mnemonic.Inc, Mnemonic.Dec,
            Mnemonic.And, Mnemonic.Or, Mnemonic.Xor, Mnemonic.Not, Mnemonic.Test));
        Add(Encodings.Of(Mnemonic.Mov, Mnemonic.Movzx, Mnemonic.Movsx, Mnemonic.Movsxd, Mnemonic.Lea, Mnemonic.Xchg, Mnemonic.Xadd,
            Mnemonic.Cmpxchg, Mnemonic.Bswap, Mnemonic.Cbw, Mnemonic.Cwde, Mnemonic.Cdqe, Mnemonic.Cwd, Mnemonic.Cdq, Mnemonic.Cqo,
            Mnemonic.Lahf, Mnemonic.Sahf, Mnemonic.Clc, Mnemonic.Stc, Mnemonic.Cmc, Mnemonic.Mul, Mnemonic.Imul));
        Add(Encodings.Of(DataMovementForms.Cmovcc));
        Add(Encodings.Of(DataMovementForms.Setcc));
        Add(Encodings.Of(Mnemonic.Shl, Mnemonic.Shr, Mnemonic.Sar, Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Rcl, Mnemonic.Rcr, Mnemonic.Shld, Mnemonic.Shrd),
            c => c.ToString().Contains("rm32", StringComparison.Ordinal) || c.ToString().Contains("rm64", StringComparison.Ordinal));
        Add(Encodings.Of(Mnemonic.Bt, Mnemonic.Bts, Mnemonic.Btr, Mnemonic.Btc), c => c.ToString().Contains("imm8", StringComparison.Ordinal));
        Add(new[] { Code.Push_r64, Code.Pop_r64, Code.Pushq_imm8 });
        if (!memory) list.RemoveAll(f => f.Memory);
        return list.ToArray();
    }

    private static CodeForm[] Producers()
    {
        var list = new List<CodeForm>();
        foreach (var code in Encodings.Of(Mnemonic.Add, Mnemonic.Adc, Mnemonic.Sub, Mnemonic.Sbb, Mnemonic.Cmp, Mnemonic.Neg, Mnemonic.Inc,
                     Mnemonic.Dec, Mnemonic.And, Mnemonic.Or, Mnemonic.Xor, Mnemonic.Test, Mnemonic.Mul, Mnemonic.Imul, Mnemonic.Sahf,
                     Mnemonic.Clc, Mnemonic.Stc, Mnemonic.Cmc, Mnemonic.Cmpxchg, Mnemonic.Xadd,
                     Mnemonic.Shl, Mnemonic.Shr, Mnemonic.Sar, Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Rcl, Mnemonic.Rcr,
                     Mnemonic.Shld, Mnemonic.Shrd, Mnemonic.Bt, Mnemonic.Bts, Mnemonic.Btr, Mnemonic.Btc))
        {
            var name = code.ToString();
            // 8/16-bit shifts can leave CF undefined depending on the count; see ShiftForms.
            if (code.Mnemonic() is Mnemonic.Shl or Mnemonic.Shr or Mnemonic.Shld or Mnemonic.Shrd
                && (name.Contains("rm8", StringComparison.Ordinal) || name.Contains("rm16", StringComparison.Ordinal)))
                continue;
            // BT with a register offset into memory reaches anywhere: single-instruction forms only.
            bool bitTest = code.Mnemonic() is Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc;
            list.Add(new CodeForm(code, false) { AvoidForOperands = SequenceAvoid });
            if (CodeForm.HasModRmChoice(code) && !(bitTest && !name.Contains("imm8", StringComparison.Ordinal)))
                list.Add(new CodeForm(code, true) { AvoidForOperands = SequenceAvoid });
        }
        foreach (var (mnemonic, feature) in new[] { (Mnemonic.Bsf, HostFeature.None), (Mnemonic.Bsr, HostFeature.None),
                     (Mnemonic.Popcnt, HostFeature.Popcnt), (Mnemonic.Lzcnt, HostFeature.Lzcnt), (Mnemonic.Tzcnt, HostFeature.Bmi1),
                     (Mnemonic.Andn, HostFeature.Bmi1), (Mnemonic.Blsi, HostFeature.Bmi1), (Mnemonic.Blsr, HostFeature.Bmi1),
                     (Mnemonic.Blsmsk, HostFeature.Bmi1), (Mnemonic.Bzhi, HostFeature.Bmi2) })
        {
            if (!HostPlatform.IsX64Linux || !HostPlatform.Supports(feature)) continue;
            foreach (var code in Encodings.Of(mnemonic))
            {
                // BSF/BSR with a zero source leave the destination vendor-specific: register form only, source forced non-zero.
                bool scan = mnemonic is Mnemonic.Bsf or Mnemonic.Bsr;
                CodeForm.Tweak? nonZero = scan ? ops => { if (ops.Value(1) == 0) ops.SetValue(1, 1); return ops.Value(1) != 0; } : null;
                list.Add(new CodeForm(code, false) { AvoidForOperands = SequenceAvoid, Constrain = nonZero });
                if (!scan) list.Add(new CodeForm(code, true) { AvoidForOperands = SequenceAvoid });
            }
        }
        return list.ToArray();
    }

    private static bool UsesMemory(Code code)
    {
        var info = code.ToOpCode();
        for (int i = 0; i < info.OpCount; i++)
            if (info.GetOpKind(i) is OpCodeOperandKind.mem or OpCodeOperandKind.mem_offs) return true;
        return false;
    }

    /// <summary>Points R12 at the middle of the data area and R13 at a small index: the sequence's address registers.</summary>
    private static void StartSequence(CaseBuilder b)
    {
        b.Pin(R12, b.Layout.ScratchAddress + 0x6000 + (ulong)b.Rng.Next(-0x100, 0x100));
        b.Pin(R13, (ulong)b.Rng.Next(0, 64));
        b.SequenceBase = R12;
        b.SequenceIndex = R13;
    }

    /// <summary>
    /// Appends a random instruction from <paramref name="pool"/> that reads no flag an earlier
    /// instruction left undefined; updates <paramref name="undefined"/>.
    /// </summary>
    private static bool AppendFrom(CaseBuilder b, CodeForm[] pool, OperandSet ops, ref RflagsBits undefined)
    {
        for (int tries = 0; tries < 50; tries++)
        {
            var form = pool[b.Rng.Next(pool.Length)];
            if (!form.TryAppend(b, ops)) continue;
            var insn = ops.Insn;
            if ((insn.RflagsRead & undefined) != 0)
            {
                b.Code.RemoveLast();
                continue;
            }
            undefined = CodeListing.UndefinedAfter(undefined, insn);
            return true;
        }
        return false;
    }

    private static void RandomSequence(CaseBuilder b, CodeForm[] pool)
    {
        StartSequence(b);
        var ops = new OperandSet(b);
        var undefined = RflagsBits.None;
        int length = b.Rng.Next(2, 11);
        for (int i = 0; i < length; i++)
            if (!AppendFrom(b, pool, ops, ref undefined))
                throw new InvalidOperationException("no instruction of the pool fits the sequence");
        b.Finish();
    }

    /// <summary>
    /// Random pool instructions with, after some of them, <c>jcc L; mov r, imm; L:</c>: the flag
    /// thunk crosses block exits (taken and not) and the optimiser must keep what a later block
    /// reads. The skipped instruction leaves the flags alone, so definedness stays linear.
    /// </summary>
    private static void SequenceWithBranches(CaseBuilder b, CodeForm[] pool)
    {
        StartSequence(b);
        var ops = new OperandSet(b);
        var e = b.Code;
        var undefined = RflagsBits.None;
        int length = b.Rng.Next(2, 9);
        for (int i = 0; i < length; i++)
        {
            if (!AppendFrom(b, pool, ops, ref undefined))
                throw new InvalidOperationException("no instruction of the pool fits the sequence");
            if (b.Rng.Next(3) != 0) continue;
            for (int tries = 0; tries < 16; tries++)
            {
                var code = Enum.Parse<Code>($"{ControlFlowForms.Jcc[b.Rng.Next(16)]}_rel8_64");
                if ((Instruction.CreateBranch(code, 0).RflagsRead & undefined) != 0) continue;
                int skip = e.CreateLabel();
                e.Branch(code, skip);
                e.Emit(Instruction.Create(Code.Mov_r32_imm32, b.PickRegister(4, SequenceAvoid), (uint)b.Rng.Next()));
                e.Bind(skip);
                break;
            }
        }
        b.Finish();
    }

    /// <summary>
    /// <c>clc/stc; L: mov rax, [rsi+rcx*8]; adc/sbb [rdi+rcx*8], rax; inc rcx; jnz L</c> with RCX
    /// counting up from -n to 0: CF travels from one iteration to the next through INC (which
    /// keeps it) and the block exit; the sum lands in memory.
    /// </summary>
    private static void CarryChainLoop(CaseBuilder b)
    {
        var rng = b.Rng;
        var e = b.Code;
        int n = rng.Next(1, 65);
        bool subtract = rng.Next(2) == 0;
        bool useDec = rng.Next(2) == 0;
        ulong source = b.Layout.ScratchAddress + (ulong)rng.Next(0x1000, 0x4000) & ~7UL;
        ulong destination = b.Layout.ScratchAddress + (ulong)rng.Next(0x6000, 0x9000) & ~7UL;
        // With INC, RCX runs -n..-1 and the arrays are addressed from their ends; with DEC, n..1.
        b.Pin(1, useDec ? (ulong)n : (ulong)-n);
        b.Pin(6, useDec ? source - 8 : source + (ulong)(8 * n));
        b.Pin(7, useDec ? destination - 8 : destination + (ulong)(8 * n));
        for (int i = 0; i < n; i++)
        {
            // Mostly all-ones and zeros, so carries ripple.
            ulong Word() => rng.Next(3) switch { 0 => ulong.MaxValue, 1 => 0, _ => EdgeValues.Value(rng, 64) };
            b.WriteScratch(source + (ulong)(8 * i), 8, Word());
            b.WriteScratch(destination + (ulong)(8 * i), 8, Word());
        }
        e.Emit(Instruction.Create(rng.Next(2) == 0 ? Code.Clc : Code.Stc));
        int top = e.CreateLabel();
        e.Bind(top);
        e.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, new MemoryOperand(Register.RSI, Register.RCX, 8, 0, 0)));
        e.Emit(Instruction.Create(subtract ? Code.Sbb_rm64_r64 : Code.Adc_rm64_r64, new MemoryOperand(Register.RDI, Register.RCX, 8, 0, 0), Register.RAX));
        e.Emit(Instruction.Create(useDec ? Code.Dec_rm64 : Code.Inc_rm64, Register.RCX));
        e.Branch(Code.Jne_rel8_64, top);
        // Make the final carry visible in a register too.
        e.Emit(Instruction.Create(Code.Setb_rm8, Register.DL));
        b.Note = $"{n} words, {(subtract ? "sbb" : "adc")}, counter {(useDec ? "dec" : "inc")}";
        b.Finish();
    }

    private static void ProducerConsumer(CaseBuilder b, FlagConsumer consumer)
    {
        StartSequence(b);
        var ops = new OperandSet(b);
        var e = b.Code;
        for (int attempt = 0; ; attempt++)
        {
            if (attempt == 100) throw new InvalidOperationException($"no producer leaves the flags {consumer} reads defined");
            var undefined = RflagsBits.None;
            if (!AppendFrom(b, ProducerPool.Value, ops, ref undefined)) continue;
            if (EmitConsumer(b, consumer, undefined)) break;
            e.Reset(b.Layout.CodeAddress);
        }
        b.Finish();
    }

    /// <summary>Emits the consumer; false when it would read a flag the producer left undefined.</summary>
    private static bool EmitConsumer(CaseBuilder b, FlagConsumer consumer, RflagsBits undefined)
    {
        var e = b.Code;
        var rng = b.Rng;
        Register Pick(int bytes) => b.PickRegister(bytes, SequenceAvoid, allowHighByte: false);
        Instruction insn;
        switch (consumer)
        {
            case FlagConsumer.Setcc:
                insn = Instruction.Create(Enum.Parse<Code>($"{DataMovementForms.Setcc[rng.Next(16)]}_rm8"), Pick(1));
                break;
            case FlagConsumer.Cmovcc:
                insn = Instruction.Create(Enum.Parse<Code>($"{DataMovementForms.Cmovcc[rng.Next(16)]}_r64_rm64"), Pick(8), Pick(8));
                break;
            case FlagConsumer.AdcSbb:
                insn = Instruction.Create(rng.Next(2) == 0 ? Code.Adc_r64_rm64 : Code.Sbb_r32_rm32, Pick(8), Pick(8));
                if (insn.Code == Code.Sbb_r32_rm32) insn = Instruction.Create(Code.Sbb_r32_rm32, Pick(4), Pick(4));
                break;
            case FlagConsumer.RclRcr:
                insn = Instruction.Create(rng.Next(2) == 0 ? Code.Rcl_rm64_1 : Code.Rcr_rm32_1, Pick(8), 1);
                if (insn.Code == Code.Rcr_rm32_1) insn = Instruction.Create(Code.Rcr_rm32_1, Pick(4), 1);
                break;
            case FlagConsumer.Jcc:
            {
                var jcc = Instruction.CreateBranch(Enum.Parse<Code>($"{ControlFlowForms.Jcc[rng.Next(16)]}_rel8_64"), 0);
                if ((jcc.RflagsRead & undefined) != 0) return false;
                int skip = e.CreateLabel();
                e.Branch(jcc.Code, skip);
                e.Emit(Instruction.Create(Code.Mov_r32_imm32, Pick(4), (uint)rng.Next()));
                e.Bind(skip);
                return true;
            }
            case FlagConsumer.Pushfq:
            {
                // The flag image goes to a register (undefined bits not compared) and the stack slot is overwritten.
                var r = Pick(8);
                e.Emit(Instruction.Create(Code.Pushfq));
                e.Emit(Instruction.Create(Code.Pop_r64, r));
                e.Emit(Instruction.Create(Code.Mov_rm64_imm32, new MemoryOperand(Register.RSP, -8), 0));
                b.GprDontCare[CaseBuilder.Index(r)] = CodeListing.ToRflags(undefined);
                return true;
            }
            default:
            {
                e.Emit(Instruction.Create(Code.Lahf));
                b.GprDontCare[0] = CodeListing.ToRflags(undefined) << 8;
                return true;
            }
        }
        if ((insn.RflagsRead & undefined) != 0) return false;
        e.Emit(insn);
        return true;
    }

    /// <summary><c>L: load [rsi+rcx*s-s]; op; store [rdi+rcx*s-s]; dec rcx; jnz L</c> over 1..64 elements of 1, 4 or 8 bytes.</summary>
    private static void LoadStoreLoop(CaseBuilder b)
    {
        var rng = b.Rng;
        var e = b.Code;
        int size = new[] { 1, 4, 8 }[rng.Next(3)];
        int count = rng.Next(1, 65);
        b.Pin(1, (ulong)count);
        b.Pin(6, b.Layout.ScratchAddress + (ulong)rng.Next(0x1000, 0x4000));
        b.Pin(7, b.Layout.ScratchAddress + (ulong)rng.Next(0x6000, 0x9000));
        var source = new MemoryOperand(Register.RSI, Register.RCX, size, -size, 1);
        var destination = new MemoryOperand(Register.RDI, Register.RCX, size, -size, 1);
        var value = size == 8 ? Register.RAX : Register.EAX;
        var operand = size == 8 ? Register.RDX : Register.EDX;
        int top = e.CreateLabel();
        e.Bind(top);
        e.Emit(size == 1 ? Instruction.Create(Code.Movzx_r32_rm8, Register.EAX, source)
            : Instruction.Create(size == 8 ? Code.Mov_r64_rm64 : Code.Mov_r32_rm32, value, source));
        var (opCode, name) = rng.Next(6) switch
        {
            0 => (size == 8 ? Code.Add_r64_rm64 : Code.Add_r32_rm32, "add"),
            1 => (size == 8 ? Code.Sub_r64_rm64 : Code.Sub_r32_rm32, "sub"),
            2 => (size == 8 ? Code.Xor_r64_rm64 : Code.Xor_r32_rm32, "xor"),
            3 => (size == 8 ? Code.Imul_r64_rm64 : Code.Imul_r32_rm32, "imul"),
            4 => (size == 8 ? Code.And_r64_rm64 : Code.And_r32_rm32, "and"),
            _ => (size == 8 ? Code.Or_r64_rm64 : Code.Or_r32_rm32, "or"),
        };
        e.Emit(Instruction.Create(opCode, value, operand));
        e.Emit(size == 1 ? Instruction.Create(Code.Mov_rm8_r8, destination, Register.AL)
            : Instruction.Create(size == 8 ? Code.Mov_rm64_r64 : Code.Mov_rm32_r32, destination, value));
        e.Emit(Instruction.Create(Code.Dec_rm64, Register.RCX));
        e.Branch(rng.Next(2) == 0 ? Code.Jne_rel8_64 : Code.Jne_rel32_64, top);
        b.Note = $"{count} elements of {size} bytes, operation {name}";
        b.Finish();
    }

    /// <summary><c>call F; jmp E; F: push rbp; mov rbp, rsp; sub rsp, N; stores and loads through RBP and RSP; leave; ret; E:</c></summary>
    private static void FunctionWithFrame(CaseBuilder b)
    {
        var rng = b.Rng;
        var e = b.Code;
        int frame = 8 * rng.Next(2, 64);
        int function = e.CreateLabel(), end = e.CreateLabel();
        e.Branch(Code.Call_rel32_64, function);
        e.Branch(Code.Jmp_rel32_64, end);
        e.Bind(function);
        e.Emit(Instruction.Create(Code.Push_r64, Register.RBP));
        e.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RBP, Register.RSP));
        e.Emit(Instruction.Create(Code.Sub_rm64_imm32, Register.RSP, frame));
        e.Emit(Instruction.Create(Code.Mov_rm64_r64, new MemoryOperand(Register.RBP, -8), Register.RDI));
        e.Emit(Instruction.Create(Code.Mov_rm32_r32, new MemoryOperand(Register.RBP, -frame), Register.ESI));
        e.Emit(Instruction.Create(Code.Mov_r64_rm64, Register.RAX, new MemoryOperand(Register.RBP, -8)));
        e.Emit(Instruction.Create(Code.Add_r64_rm64, Register.RAX, new MemoryOperand(Register.RSP, 0L)));
        e.Emit(Instruction.Create(Code.Mov_rm64_r64, new MemoryOperand(Register.RSP, 8), Register.RAX));
        e.Emit(Instruction.Create(Code.Leaveq));
        e.Emit(Instruction.Create(Code.Retnq));
        e.Bind(end);
        b.Note = $"frame {frame} bytes";
        b.Finish();
    }
}
