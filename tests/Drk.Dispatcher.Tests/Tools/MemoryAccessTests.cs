using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Tools;
using Drk.Hv.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.Dispatcher.Tests.Tools;

/// <summary>
/// The memory accesses <see cref="InstrumentedInstruction.MemoryAccesses"/> lists, checked against
/// Iced's own account of each instruction's memory use (<see cref="InstructionInfoFactory"/>):
/// the same kinds, sizes and addresses (a read-modify-write operand is a read then a write),
/// implicit stack and string accesses included; the addresses are those the inserted code sees
/// at run time, in both tiers. REP forms run one step (RCX = 3), so Iced's conditional accesses happen.
/// </summary>
public sealed class MemoryAccessTests
{
    public static TheoryData<string> Forms => new(FormsByName.Keys);

    private static readonly Dictionary<string, Action<Assembler>> FormsByName = new()
    {
        ["mov r64, m64"] = a => a.mov(rax, __qword_ptr[rsi + 0x18]),
        ["mov m32, r32"] = a => a.mov(__dword_ptr[rdi + rcx * 4], eax),
        ["mov m16, r16"] = a => a.mov(__word_ptr[rdi], ax),
        ["mov m8, r8"] = a => a.mov(__byte_ptr[rdi + 3], al),
        ["movzx r32, m16"] = a => a.movzx(eax, __word_ptr[rsi]),
        ["movsx r64, m8"] = a => a.movsx(rax, __byte_ptr[rsi - 1]),
        ["add m64, r64"] = a => a.add(__qword_ptr[rbx + 8], rax),
        ["inc m32"] = a => a.inc(__dword_ptr[rbx]),
        ["xchg m64, r64"] = a => a.xchg(__qword_ptr[rbx], rcx),
        ["cmp m64, imm"] = a => a.cmp(__qword_ptr[rbx], 5),
        ["test m32, r32"] = a => a.test(__dword_ptr[rbx], eax),
        ["lea"] = a => a.lea(rax, __qword_ptr[rbx + rcx * 8 + 16]),
        ["push r64"] = a => a.push(rax),
        ["pop r64"] = a => a.pop(rdx),
        ["push m64"] = a => a.push(__qword_ptr[rbx]),
        ["pop m64"] = a => a.pop(__qword_ptr[rbx]),
        ["pushfq"] = a => a.pushfq(),
        ["call rel32"] = a => a.call(ToolBlockKit.Elsewhere),
        ["call m64"] = a => a.call(__qword_ptr[rbx]),
        ["ret"] = a => a.ret(),
        ["ret imm16"] = a => a.ret(16),
        ["leave"] = a => a.leave(),
        ["movsb"] = a => a.movsb(),
        ["movsw"] = a => a.movsw(),
        ["movsd"] = a => a.movsd(),
        ["movsq"] = a => a.movsq(),
        ["rep movsq"] = a => a.rep.movsq(),
        ["stosq"] = a => a.stosq(),
        ["lodsd"] = a => a.lodsd(),
        ["cmpsb"] = a => a.cmpsb(),
        ["scasw"] = a => a.scasw(),
    };

    [Theory]
    [MemberData(nameof(Forms))]
    public void Accesses_match_iced_s_account_in_kind_size_and_address(string form)
    {
        var view = ToolBlockKit.View(ToolBlockKit.Lower(FormsByName[form]));
        var insn = view.Instructions[0];
        using var twin = ToolBlockKit.NewTwin(form.Length);
        var calls = new CallRecorder(twin);
        foreach (var access in insn.MemoryAccesses)
        {
            Assert.Equal(0, access.Instruction);
            Assert.Equal(access.Kind == MemoryAccessKind.Write, access.IsWrite);
            var ir = view.InsertBefore(access);
            ir.CleanCall(calls.Number, ir.Const64((ulong)access.Kind << 8 | (uint)access.Size), access.Address, IrValue.None, IrValue.None);
        }
        ToolBlockKit.Reset(twin);
        // CALL [RBX] and RET check their targets before they push or pop: make them canonical.
        foreach (int pointer in new[] { GuestReg.Rbx, GuestReg.Rsp })
        {
            ulong address = twin.Interp.State[pointer];
            Assert.True(twin.Interp.Memory.Write(address, 8, ToolBlockKit.Elsewhere, out _) && twin.Jit.Memory.Write(address, 8, ToolBlockKit.Elsewhere, out _));
        }
        var expected = IcedAccesses(insn.Instruction, twin.Interp.State);

        var result = twin.Run(view.Finish(), form);

        Assert.True(result.End != BlockEnd.Fault, $"{form}: {result}");
        var seen = calls.Same(form).Select(c => ((MemoryAccessKind)(c.A >> 8), (int)(c.A & 0xff), c.B)).ToList();
        Assert.True(Sorted(expected).SequenceEqual(Sorted(seen)),
            $"{form}: Iced says [{string.Join(", ", expected)}], the IR accessed [{string.Join(", ", seen)}]");
        Assert.Equal(expected.Count > 0, insn.AccessesMemory);
    }

    [Theory]
    [InlineData("add m64, r64")]
    [InlineData("push m64")]
    [InlineData("pop m64")]
    [InlineData("call m64")]
    [InlineData("movsq")]
    [InlineData("xchg m64, r64")]
    public void A_read_comes_before_the_write_that_depends_on_it(string form)
    {
        var insn = ToolBlockKit.View(ToolBlockKit.Lower(FormsByName[form])).Instructions[0];

        Assert.Equal([MemoryAccessKind.Read, MemoryAccessKind.Write], insn.MemoryAccesses.Select(a => a.Kind));
        Assert.True(insn.MemoryAccesses[0].OpIndex < insn.MemoryAccesses[1].OpIndex);
    }

    private static List<(MemoryAccessKind Kind, int Size, ulong Address)> IcedAccesses(in Instruction instruction, VcpuState state)
    {
        var list = new List<(MemoryAccessKind, int, ulong)>();
        var info = new InstructionInfoFactory().GetInfo(instruction);
        foreach (var used in info.GetUsedMemory())
        {
            Assert.True(used.TryGetVirtualAddress(0, out ulong address, (Register register, int _, int _, out ulong value) => Value(state, register, out value)),
                $"{instruction}: no address for {used}");
            // Iced leaves REP forms' element size unknown; the instruction's memory size gives it.
            int size = used.MemorySize == MemorySize.Unknown ? instruction.MemorySize.GetSize() : used.MemorySize.GetSize();
            switch (used.Access)
            {
                case OpAccess.Read or OpAccess.CondRead: list.Add((MemoryAccessKind.Read, size, address)); break;
                case OpAccess.Write or OpAccess.CondWrite: list.Add((MemoryAccessKind.Write, size, address)); break;
                case OpAccess.ReadWrite:
                    list.Add((MemoryAccessKind.Read, size, address));
                    list.Add((MemoryAccessKind.Write, size, address));
                    break;
                case OpAccess.NoMemAccess: break;
                default: throw new InvalidOperationException($"{instruction}: {used.Access} is not used by these forms");
            }
        }
        return list;
    }

    private static bool Value(VcpuState state, Register register, out ulong value)
    {
        value = 0;
        if (register.IsSegmentRegister()) return true;   // flat 64-bit segments: base 0
        if (!register.IsGPR64()) return false;
        value = state[register - Register.RAX + GuestReg.Rax];
        return true;
    }

    private static IEnumerable<(MemoryAccessKind, int, ulong)> Sorted(IEnumerable<(MemoryAccessKind Kind, int Size, ulong Address)> accesses) =>
        accesses.OrderBy(a => a.Address).ThenBy(a => a.Kind).ThenBy(a => a.Size);
}
