using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Optimization;

/// <summary>
/// Generates short random programs of the integer instructions gcc emits (ALU, shifts, multiply
/// and divide, moves and extensions, loads and stores through RBP, read-modify-writes and LOCK
/// forms, stack, conditional moves and sets, REP string operations, forward branches, a
/// counted loop), for property tests over lowered blocks.
/// </summary>
/// <remarks>RBP points at a data buffer and is never written; RSP at a stack. Other registers are free.</remarks>
internal static class RandomProgram
{
    private static readonly AssemblerRegister64[] R64 = [rax, rbx, rcx, rdx, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15];
    private static readonly AssemblerRegister32[] R32 = [eax, ebx, ecx, edx, esi, edi, r8d, r9d, r10d, r11d, r12d, r13d, r14d, r15d];
    private static readonly AssemblerRegister16[] R16 = [ax, bx, cx, dx, si, di, r8w, r9w, r10w, r11w, r12w, r13w, r14w, r15w];
    private static readonly AssemblerRegister8[] R8 = [al, bl, cl, dl, sil, dil, r8b, r9b, r10b, r11b, r12b, r13b, r14b, r15b];
    private static readonly AssemblerRegister8[] HighBytes = [ah, bh, ch, dh];
    private static readonly AssemblerRegister8[] LegacyLowBytes = [al, bl, cl, dl];

    /// <summary>Emits <paramref name="length"/> random instructions (plus loop and branch scaffolding).</summary>
    public static void Emit(Assembler a, Random random, int length)
    {
        var pending = new List<(Label Label, int At)>();
        for (int i = 0; i < length; i++)
        {
            for (int p = pending.Count - 1; p >= 0; p--)
            {
                if (pending[p].At > i) continue;
                var label = pending[p].Label;
                a.Label(ref label);
                a.nop();  // Iced allows one label per instruction
                pending.RemoveAt(p);
            }
            switch (random.Next(29))
            {
                case 25:
                {
                    // A short REP string operation inside the data buffer (alone in its block).
                    a.lea(rdi, __[rbp + random.Next(0, 0x100) * 8]);
                    a.lea(rsi, __[rbp + random.Next(0x100, 0x1f0) * 8]);
                    a.mov(ecx, random.Next(0, 9));
                    switch (random.Next(3))
                    {
                        case 0: a.rep.stosb(); break;
                        case 1: a.rep.movsq(); break;
                        default: a.repe.cmpsb(); break;
                    }
                    break;
                }
                case 26:
                {
                    // Usually a division that cannot fault; now and then one that may raise #DE
                    // (zero divisor or overflow), on which both runs must agree.
                    bool careful = random.Next(8) != 0;
                    var divisor = Pick(random, R64);
                    if (careful && divisor != rax && divisor != rdx) a.or(divisor, 1);
                    if (random.Next(2) == 0)
                    {
                        if (careful) a.xor(edx, edx);
                        a.div(divisor);
                    }
                    else
                    {
                        if (careful) a.cqo();
                        a.idiv(divisor);
                    }
                    break;
                }
                case 27:
                    switch (random.Next(3))
                    {
                        case 0: a.xadd(__qword_ptr[Mem(random)], Pick(random, R64)); break;
                        case 1: a.cmpxchg(__dword_ptr[Mem(random)], Pick(random, R32)); break;
                        default: a.@lock.add(__qword_ptr[Mem(random)], Pick(random, R64)); break;
                    }
                    break;
                case 28:
                    switch (random.Next(3))
                    {
                        case 0: a.push(__qword_ptr[Mem(random)]); a.pop(__qword_ptr[Mem(random)]); break;
                        case 1: a.imul(Pick(random, R32), __dword_ptr[Mem(random)], Imm(random)); break;
                        default: a.bt(__qword_ptr[Mem(random)], Pick(random, R64)); Set(a, random); break;
                    }
                    break;
                case 24:
                    // Through a register holding anything: usually a fault in the middle of a block,
                    // which must see the state exactly as before its instruction.
                    if (random.Next(3) == 0) a.mov(Pick(random, R64), __qword_ptr[Pick(random, R64)]);
                    else a.inc(Pick(random, R64));
                    break;
                case 0 or 1 or 2: Alu(a, random); break;
                case 3: AluMemory(a, random); break;
                case 4: Unary(a, random); break;
                case 5: Shift(a, random); break;
                case 6: Multiply(a, random); break;
                case 7 or 8: Move(a, random); break;
                case 9: Extend(a, random); break;
                case 10: a.lea(Pick(random, R64), __[Pick(random, R64) + Pick(random, R64) * (1 << random.Next(4)) + random.Next(-64, 64)]); break;
                case 11: Load(a, random); break;
                case 12: Store(a, random); break;
                case 13: a.push(Pick(random, R64)); a.pop(Pick(random, R64)); break;
                case 14: a.cmp(Pick(random, R64), Pick(random, R64)); Cmov(a, random); break;
                case 15: a.test(Pick(random, R32), Pick(random, R32)); Set(a, random); break;
                case 16:
                {
                    var label = a.CreateLabel();
                    a.cmp(Pick(random, R32), random.Next(-3, 4));
                    Jcc(a, random, label);
                    pending.Add((label, i + 1 + random.Next(4)));
                    break;
                }
                case 17: a.xchg(Pick(random, R64), Pick(random, R64)); break;
                case 18: a.bswap(Pick(random, R64)); break;
                case 19: Bits(a, random); break;
                case 20: if (random.Next(2) == 0) a.cqo(); else a.cdqe(); break;
                case 21:
                {
                    // A short counted loop over a random ALU body.
                    var loop = a.CreateLabel();
                    a.mov(r15d, random.Next(1, 6));
                    a.Label(ref loop);
                    Alu(a, random);
                    a.dec(r15d);
                    a.jne(loop);
                    break;
                }
                case 22: a.adc(Pick(random, R64), Pick(random, R64)); a.sbb(Pick(random, R32), random.Next(-8, 8)); break;
                default:
                    // High-byte registers cannot be encoded with a REX prefix: pair them with the legacy low bytes only.
                    a.mov(Pick(random, LegacyLowBytes), Pick(random, HighBytes));
                    a.add(Pick(random, HighBytes), (byte)random.Next(256));
                    break;
            }
        }
        foreach (var (label, _) in pending)
        {
            var l = label;
            a.Label(ref l);
            a.nop();
        }
        a.nop();
    }

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];

    private static int Imm(Random random) => random.Next(6) switch
    {
        0 => 0,
        1 => -1,
        2 => int.MinValue,
        3 => int.MaxValue,
        4 => random.Next(-128, 128),
        _ => random.Next(),
    };

    private static AssemblerMemoryOperand Mem(Random random) => __[rbp + random.Next(0, 0x200) * 8 + random.Next(8)];

    private static void Alu(Assembler a, Random r)
    {
        int op = r.Next(8);
        switch (r.Next(4))
        {
            case 0:
            {
                var (d, s) = (Pick(r, R64), Pick(r, R64));
                switch (op) { case 0: a.add(d, s); break; case 1: a.sub(d, s); break; case 2: a.and(d, s); break; case 3: a.or(d, s); break; case 4: a.xor(d, s); break; case 5: a.cmp(d, s); break; case 6: a.adc(d, s); break; default: a.sbb(d, s); break; }
                break;
            }
            case 1:
            {
                var (d, s) = (Pick(r, R32), Pick(r, R32));
                switch (op) { case 0: a.add(d, s); break; case 1: a.sub(d, s); break; case 2: a.and(d, s); break; case 3: a.or(d, s); break; case 4: a.xor(d, s); break; case 5: a.cmp(d, s); break; case 6: a.adc(d, s); break; default: a.sbb(d, s); break; }
                break;
            }
            case 2:
            {
                var d = Pick(r, R8);
                byte s = (byte)r.Next(256);
                switch (op) { case 0: a.add(d, s); break; case 1: a.sub(d, s); break; case 2: a.and(d, s); break; case 3: a.or(d, s); break; case 4: a.xor(d, s); break; case 5: a.cmp(d, s); break; case 6: a.adc(d, s); break; default: a.sbb(d, s); break; }
                break;
            }
            default:
            {
                var d = Pick(r, R64);
                int s = Imm(r);
                switch (op) { case 0: a.add(d, s); break; case 1: a.sub(d, s); break; case 2: a.and(d, s); break; case 3: a.or(d, s); break; case 4: a.xor(d, s); break; case 5: a.cmp(d, s); break; case 6: a.adc(d, s); break; default: a.sbb(d, s); break; }
                break;
            }
        }
    }

    private static void AluMemory(Assembler a, Random r)
    {
        var m = Mem(r);
        var reg = Pick(r, R32);
        switch (r.Next(4))
        {
            case 0: a.add(reg, m); break;
            case 1: a.sub(m, reg); break;
            case 2: a.xor(m, reg); break;
            default: a.cmp(m, reg); break;
        }
    }

    private static void Unary(Assembler a, Random r)
    {
        var d = Pick(r, R64);
        var w = Pick(r, R16);
        switch (r.Next(5))
        {
            case 0: a.inc(d); break;
            case 1: a.dec(w); break;
            case 2: a.neg(d); break;
            case 3: a.not(Pick(r, R32)); break;
            default: a.neg(Pick(r, R8)); break;
        }
    }

    private static void Shift(Assembler a, Random r)
    {
        byte count = (byte)(r.Next(5) switch { 0 => 0, 1 => 1, 2 => 31, 3 => 63, _ => r.Next(64) });
        bool byCl = r.Next(3) == 0;
        if (byCl) a.mov(cl, count);
        var d = r.Next(2) == 0 ? Pick(r, R64) : rax;
        var d32 = Pick(r, R32);
        switch (r.Next(6))
        {
            case 0: if (byCl) a.shl(d, cl); else a.shl(d, count); break;
            case 1: if (byCl) a.shr(d32, cl); else a.shr(d32, (byte)(count & 31)); break;
            case 2: if (byCl) a.sar(d, cl); else a.sar(d, count); break;
            case 3: if (byCl) a.rol(d32, cl); else a.rol(d32, (byte)(count & 31)); break;
            case 4: if (byCl) a.ror(d, cl); else a.ror(d, count); break;
            default: a.shld(d, Pick(r, R64), count); break;
        }
    }

    private static void Multiply(Assembler a, Random r)
    {
        switch (r.Next(4))
        {
            case 0: a.imul(Pick(r, R64), Pick(r, R64)); break;
            case 1: a.imul(Pick(r, R32), Pick(r, R32), Imm(r)); break;
            case 2: a.mul(Pick(r, R64)); break;
            default: a.imul(Pick(r, R32)); break;
        }
    }

    private static void Move(Assembler a, Random r)
    {
        switch (r.Next(5))
        {
            case 0: a.mov(Pick(r, R64), Pick(r, R64)); break;
            case 1: a.mov(Pick(r, R32), Pick(r, R32)); break;
            case 2: a.mov(Pick(r, R64), (ulong)r.NextInt64()); break;
            case 3: a.mov(Pick(r, R16), Pick(r, R16)); break;
            default: a.mov(Pick(r, R32), Imm(r)); break;
        }
    }

    private static void Extend(Assembler a, Random r)
    {
        switch (r.Next(4))
        {
            case 0: a.movzx(Pick(r, R32), Pick(r, R8)); break;
            case 1: a.movsx(Pick(r, R64), Pick(r, R16)); break;
            case 2: a.movsxd(Pick(r, R64), Pick(r, R32)); break;
            default: a.movzx(Pick(r, R64), Mem(r).ToByte()); break;
        }
    }

    private static AssemblerMemoryOperand ToByte(this AssemblerMemoryOperand m) => __byte_ptr[m];

    private static void Load(Assembler a, Random r)
    {
        switch (r.Next(3))
        {
            case 0: a.mov(Pick(r, R64), __qword_ptr[Mem(r)]); break;
            case 1: a.mov(Pick(r, R32), __dword_ptr[Mem(r)]); break;
            default: a.mov(Pick(r, R8), __byte_ptr[Mem(r)]); break;
        }
    }

    private static void Store(Assembler a, Random r)
    {
        switch (r.Next(3))
        {
            case 0: a.mov(__qword_ptr[Mem(r)], Pick(r, R64)); break;
            case 1: a.mov(__word_ptr[Mem(r)], Pick(r, R16)); break;
            default: a.mov(__dword_ptr[Mem(r)], Imm(r)); break;
        }
    }

    private static void Cmov(Assembler a, Random r)
    {
        var (d, s) = (Pick(r, R64), Pick(r, R64));
        switch (r.Next(6))
        {
            case 0: a.cmove(d, s); break;
            case 1: a.cmovl(d, s); break;
            case 2: a.cmova(d, s); break;
            case 3: a.cmovs(d, s); break;
            case 4: a.cmovbe(d, s); break;
            default: a.cmovge(d, s); break;
        }
    }

    private static void Set(Assembler a, Random r)
    {
        var d = Pick(r, R8);
        switch (r.Next(6))
        {
            case 0: a.sete(d); break;
            case 1: a.setne(d); break;
            case 2: a.setg(d); break;
            case 3: a.setp(d); break;
            case 4: a.setb(d); break;
            default: a.setle(d); break;
        }
    }

    private static void Jcc(Assembler a, Random r, Label target)
    {
        switch (r.Next(8))
        {
            case 0: a.je(target); break;
            case 1: a.jne(target); break;
            case 2: a.jl(target); break;
            case 3: a.jge(target); break;
            case 4: a.jb(target); break;
            case 5: a.ja(target); break;
            case 6: a.js(target); break;
            default: a.jle(target); break;
        }
    }

    private static void Bits(Assembler a, Random r)
    {
        var (d, s) = (Pick(r, R64), Pick(r, R64));
        switch (r.Next(5))
        {
            case 0: a.bt(d, s); Set(a, r); break;
            case 1: a.bsf(d, s); break;
            case 2: a.bsr(d, s); break;
            case 3: a.popcnt(d, s); break;
            default: a.tzcnt(d, s); break;
        }
    }
}
