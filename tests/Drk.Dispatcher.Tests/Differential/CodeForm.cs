using Drk.Dispatcher.Tests.Native;
using Iced.Intel;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// Generates cases of one Iced <see cref="Iced.Intel.Code"/> (one encoding) with random operands
/// of the kinds its <see cref="OpCodeInfo"/> lists: random registers (high-byte ones included),
/// a memory operand through a random addressing form, edge-mixed values and immediates; then an
/// optional form-specific tweak constrains the case (shift counts, non-faulting divisors, ...).
/// </summary>
public sealed class CodeForm
{
    /// <summary>Constrains a generated case; returns false to have it generated again.</summary>
    public delegate bool Tweak(OperandSet ops);

    public CodeForm(Code code, bool memory)
    {
        Code = code;
        Memory = memory;
    }

    public Code Code { get; }

    /// <summary>True for the variant whose r/m operand is memory.</summary>
    public bool Memory { get; }

    public bool Lock { get; init; }

    /// <summary>GPRs (bit mask) the memory addressing must not use, e.g. RAX|RDX for DIV whose dividend they hold.</summary>
    public int AvoidForAddress { get; init; }

    /// <summary>GPRs (bit mask) register operands must not use.</summary>
    public int AvoidForOperands { get; init; }

    /// <summary>Required alignment of the memory operand (CMPXCHG16B: 16).</summary>
    public int Alignment { get; init; } = 1;

    /// <summary>LEA/NOP: address with 32-bit registers under a 67h prefix (the address is only computed).</summary>
    public bool AddressSize32 { get; init; }

    public Tweak? Constrain { get; init; }

    public HostFeature Requires { get; init; }

    /// <summary>The row name: Iced's Code name, "reg"/"mem", "lock".</summary>
    public string Name
    {
        get
        {
            string name = Code.ToString();
            if (HasModRmChoice(Code)) name += Memory ? " mem" : " reg";
            if (AddressSize32) name += " addr32";
            if (Lock) name = "lock " + name;
            return name;
        }
    }

    public InstructionForm ToForm() => new(Name, Build, Requires);

    /// <summary>True when the encoding has an operand that is a register or memory (so it has a reg and a mem row).</summary>
    public static bool HasModRmChoice(Code code)
    {
        var info = code.ToOpCode();
        for (int i = 0; i < info.OpCount; i++)
            if (info.GetOpKind(i) is OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem
                or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem)
                return true;
        return false;
    }

    /// <summary>True when every operand kind of <paramref name="code"/> is one this generator makes.</summary>
    public static bool IsSupported(Code code)
    {
        var info = code.ToOpCode();
        for (int i = 0; i < info.OpCount; i++)
            if (!IsSupportedKind(info.GetOpKind(i))) return false;
        return true;
    }

    private static bool IsSupportedKind(OpCodeOperandKind kind) => kind is
        OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem or
        OpCodeOperandKind.r8_reg or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r64_reg or
        OpCodeOperandKind.r8_opcode or OpCodeOperandKind.r16_opcode or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r64_opcode or
        OpCodeOperandKind.r32_vvvv or OpCodeOperandKind.r64_vvvv or
        OpCodeOperandKind.al or OpCodeOperandKind.cl or OpCodeOperandKind.ax or OpCodeOperandKind.eax or OpCodeOperandKind.rax or
        OpCodeOperandKind.imm8 or OpCodeOperandKind.imm16 or OpCodeOperandKind.imm32 or OpCodeOperandKind.imm64 or
        OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64 or OpCodeOperandKind.imm32sex64 or
        OpCodeOperandKind.imm8_const_1 or OpCodeOperandKind.mem or OpCodeOperandKind.mem_offs;

    private static int RegisterBytes(OpCodeOperandKind kind) => kind switch
    {
        OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode or OpCodeOperandKind.al or OpCodeOperandKind.cl => 1,
        OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_opcode or OpCodeOperandKind.ax => 2,
        OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r32_vvvv or OpCodeOperandKind.eax => 4,
        _ => 8,
    };

    private static (OpKind Kind, int Bits, bool SignExtended) Immediate(OpCodeOperandKind kind) => kind switch
    {
        OpCodeOperandKind.imm8 or OpCodeOperandKind.imm8_const_1 => (OpKind.Immediate8, 8, false),
        OpCodeOperandKind.imm16 => (OpKind.Immediate16, 16, false),
        OpCodeOperandKind.imm32 => (OpKind.Immediate32, 32, false),
        OpCodeOperandKind.imm64 => (OpKind.Immediate64, 64, false),
        OpCodeOperandKind.imm8sex16 => (OpKind.Immediate8to16, 8, true),
        OpCodeOperandKind.imm8sex32 => (OpKind.Immediate8to32, 8, true),
        OpCodeOperandKind.imm8sex64 => (OpKind.Immediate8to64, 8, true),
        OpCodeOperandKind.imm32sex64 => (OpKind.Immediate32to64, 32, true),
        _ => (OpKind.Register, 0, false),
    };

    /// <summary>Makes one case in <paramref name="b"/>.</summary>
    public void Build(CaseBuilder b)
    {
        var info = Code.ToOpCode();
        var ops = new OperandSet(b);
        for (int attempt = 0; attempt < 200; attempt++)
        {
            if (attempt > 0) b.Restart();
            if (TryGenerate(b, info, ops) && (Constrain == null || Constrain(ops)))
            {
                b.Code.Emit(ops.Insn);
                if (b.TryFinish()) return;
            }
        }
        throw new InvalidOperationException($"no encodable, non-faulting case of {Code} after 200 attempts");
    }

    /// <summary>
    /// Appends one instruction of this form to a sequence under construction (no restart, no
    /// encoding of the whole case); false when the random choice has no encoding or the tweak
    /// rejects it.
    /// </summary>
    public bool TryAppend(CaseBuilder b, OperandSet ops)
    {
        if (!TryGenerate(b, Code.ToOpCode(), ops)) return false;
        if (Constrain != null && !Constrain(ops)) return false;
        if (!CodeEmitter.TryEncodeOne(ops.Insn, b.Layout.CodeAddress, out _, out _)) return false;
        b.Code.Emit(ops.Insn);
        return true;
    }

    private bool TryGenerate(CaseBuilder b, OpCodeInfo info, OperandSet ops)
    {
        var insn = new Instruction { Code = Code };
        ops.Count = info.OpCount;
        int immediateCount = 0;
        // Registers first, so that the memory operand's base/index can avoid nothing but what the form says.
        for (int i = 0; i < info.OpCount; i++)
        {
            var kind = info.GetOpKind(i);
            ops.Kinds[i] = OperandKindChoice.None;
            switch (kind)
            {
                case OpCodeOperandKind.al: SetRegister(ref insn, ops, i, Register.AL); break;
                case OpCodeOperandKind.cl: SetRegister(ref insn, ops, i, Register.CL); break;
                case OpCodeOperandKind.ax: SetRegister(ref insn, ops, i, Register.AX); break;
                case OpCodeOperandKind.eax: SetRegister(ref insn, ops, i, Register.EAX); break;
                case OpCodeOperandKind.rax: SetRegister(ref insn, ops, i, Register.RAX); break;
                case OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem when !Memory:
                case OpCodeOperandKind.r8_reg or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r64_reg:
                case OpCodeOperandKind.r8_opcode or OpCodeOperandKind.r16_opcode or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r64_opcode:
                case OpCodeOperandKind.r32_vvvv or OpCodeOperandKind.r64_vvvv:
                    SetRegister(ref insn, ops, i, b.PickRegister(RegisterBytes(kind), AvoidForOperands));
                    break;
                case OpCodeOperandKind.mem or OpCodeOperandKind.mem_offs:
                case OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem:
                    ops.Kinds[i] = OperandKindChoice.Memory; // addressed below
                    break;
                default:
                    var (opKind, bits, sext) = Immediate(kind);
                    ulong v = kind == OpCodeOperandKind.imm8_const_1 ? 1 : EdgeValues.Value(b.Rng, bits);
                    if (sext) v = SignExtend(v, bits);
                    insn.SetOpKind(i, opKind == OpKind.Immediate8 && immediateCount == 1 ? OpKind.Immediate8_2nd : opKind);
                    insn.SetImmediate(i, v);
                    ops.Kinds[i] = OperandKindChoice.Immediate;
                    ops.Sizes[i] = bits / 8;
                    immediateCount++;
                    break;
            }
        }
        for (int i = 0; i < info.OpCount; i++)
        {
            if (ops.Kinds[i] != OperandKindChoice.Memory) continue;
            var kind = info.GetOpKind(i);
            int size = kind == OpCodeOperandKind.mem || kind == OpCodeOperandKind.mem_offs ? insn.MemorySize.GetSize() : RegisterBytes(kind);
            bool accessed = size > 0 && insn.Mnemonic is not (Mnemonic.Lea or Mnemonic.Nop);
            ulong target = b.PickDataAddress(Math.Max(size, 1), Alignment);
            insn.SetOpKind(i, OpKind.Memory);
            if (kind == OpCodeOperandKind.mem_offs)
            {
                insn.MemoryBase = Register.None;
                insn.MemoryIndex = Register.None;
                insn.MemoryIndexScale = 1;
                insn.MemoryDisplacement64 = target;
                insn.MemoryDisplSize = 8;
            }
            else if (AddressSize32)
            {
                // Address computed only: any 32-bit registers and values.
                var baseReg = Register.EAX + b.Rng.Next(16);
                var indexReg = b.Rng.Next(3) == 0 ? Register.None : Register.EAX + b.Rng.Next(16);
                if (indexReg == Register.ESP) indexReg = Register.None;
                insn.MemoryBase = baseReg;
                insn.MemoryIndex = indexReg;
                insn.MemoryIndexScale = 1 << b.Rng.Next(4);
                insn.MemoryDisplacement64 = (ulong)(long)b.Rng.Next(int.MinValue, int.MaxValue) & 0xFFFF_FFFF;
                insn.MemoryDisplSize = 4;
                if (baseReg != Register.ESP) b.Set(baseReg, EdgeValues.Value(b.Rng, 32));
                if (indexReg != Register.None) b.Set(indexReg, EdgeValues.Value(b.Rng, 32));
            }
            else
            {
                var m = b.PickMemory(target, AvoidForAddress);
                insn.MemoryBase = m.Base;
                insn.MemoryIndex = m.Index;
                insn.MemoryIndexScale = m.Scale;
                insn.MemoryDisplacement64 = (ulong)m.Displacement;
                insn.MemoryDisplSize = m.DisplSize;
            }
            ops.Kinds[i] = accessed ? OperandKindChoice.Memory : OperandKindChoice.AddressOnly;
            ops.Addresses[i] = target;
            ops.Sizes[i] = size;
            if (accessed)
                for (int o = 0; o < size; o += 8)
                    b.WriteScratch(target + (ulong)o, Math.Min(8, size - o), EdgeValues.Value(b.Rng, 8 * Math.Min(8, size - o)));
        }
        // Register operand values: edge values at the operand's width; pinned registers keep theirs.
        for (int i = 0; i < info.OpCount; i++)
            if (ops.Kinds[i] == OperandKindChoice.Register)
                b.Set(ops.Registers[i], EdgeValues.Value(b.Rng, 8 * ops.Sizes[i]));
        insn.HasLockPrefix = Lock;
        ops.Insn = insn;
        return true;
    }

    private static void SetRegister(ref Instruction insn, OperandSet ops, int i, Register reg)
    {
        insn.SetOpKind(i, OpKind.Register);
        insn.SetOpRegister(i, reg);
        ops.Kinds[i] = OperandKindChoice.Register;
        ops.Registers[i] = reg;
        ops.Sizes[i] = reg.GetSize();
    }

    /// <summary>Sign-extends the low <paramref name="bits"/> bits of <paramref name="v"/> to 64.</summary>
    public static ulong SignExtend(ulong v, int bits) => bits >= 64 ? v : (ulong)((long)(v << (64 - bits)) >> (64 - bits));
}
