using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;
using Iced.Intel;

namespace Drk.Dispatcher.Decoding;

/// <summary>
/// Decodes one guest block (64-bit mode) starting at a RIP, fetching instruction bytes through
/// <see cref="IGuestMemory.Fetch"/>.
/// </summary>
/// <remarks>
/// <para>A block ends after:</para>
/// <list type="bullet">
/// <item>a control transfer (Iced's <see cref="FlowControl"/> is not <see cref="FlowControl.Next"/>: jumps, calls, returns, INT n, UD2, undecodable bytes);</item>
/// <item>an instruction that the lowering turns into a System op or that is privileged (<see cref="IsSystemInstruction"/>), so the hypervisor sees precise state after it;</item>
/// <item>the last instruction that starts on the block's first page (that instruction may cross into the next page);</item>
/// <item><see cref="MaxInstructions"/> instructions;</item>
/// <item>a REP/REPNE string instruction, which is always alone in its block: the block ends before one that is not first.</item>
/// </list>
/// <para>
/// A fetch fault (#PF with the I/D bit, #GP for a non-canonical RIP) on the first instruction is
/// reported as that fault so the runner delivers it; on a later instruction it ends the block
/// before that instruction, which will fault when it is itself the first of a block.
/// Undecodable bytes become an instruction with <see cref="Code.INVALID"/>, which the lowering
/// turns into #UD.
/// </para>
/// <para>Not thread-safe; one decoder per vCPU. Allocates the returned array and nothing else per block.</para>
/// </remarks>
public sealed class BlockDecoder
{
    /// <summary>The default and largest number of instructions in a block.</summary>
    public const int MaxInstructions = 64;

    private const ulong PageMask = ~0xfffUL;

    private readonly GuestCodeReader _reader;
    private readonly Decoder _decoder;
    private readonly GuestInstruction[] _scratch = new GuestInstruction[MaxInstructions];

    public BlockDecoder(IGuestMemory memory)
    {
        Memory = memory;
        _reader = new GuestCodeReader(memory);
        _decoder = Decoder.Create(64, _reader, 0, DecoderOptions.None);
    }

    /// <summary>The memory instructions are fetched from.</summary>
    public IGuestMemory Memory { get; }

    /// <summary>
    /// Decodes the block at <paramref name="rip"/>.
    /// </summary>
    /// <param name="rip">Guest RIP of the first instruction.</param>
    /// <param name="instructions">The block's instructions (at least one) when the result is true.</param>
    /// <param name="fault">When the result is false: the fetch fault of the first instruction, with <see cref="GuestFault.Rip"/> = <paramref name="rip"/>.</param>
    /// <param name="maxInstructions">Upper bound on the block's length (1..<see cref="MaxInstructions"/>).</param>
    /// <param name="stopBefore">When set, the block ends before an instruction at this RIP (unless it is the first).</param>
    /// <returns>false when the first instruction cannot be fetched.</returns>
    public bool TryDecode(ulong rip, out GuestInstruction[] instructions, out GuestFault fault,
        int maxInstructions = MaxInstructions, ulong? stopBefore = null)
    {
        if (maxInstructions < 1 || maxInstructions > MaxInstructions)
            throw new ArgumentOutOfRangeException(nameof(maxInstructions));
        fault = default;
        _reader.Reset(rip);
        ulong page = rip & PageMask;
        int count = 0;
        ulong next = rip;
        while (true)
        {
            if (count > 0 && stopBefore == next) break;
            _reader.Seek(next);
            _decoder.IP = next;
            _decoder.Decode(out var insn);
            if (insn.Code == Code.INVALID && _decoder.LastError == DecoderError.NoMoreBytes && _reader.Faulted
                && !IsInvalidWhateverFollows(next, _reader.FaultAddress, ref insn))
            {
                // The instruction needs a byte that cannot be fetched: deliver the fetch fault if it
                // is the first instruction, otherwise leave it to be the first of the next block.
                if (count > 0) break;
                fault = _reader.Fault;
                fault.Rip = rip;
                instructions = [];
                return false;
            }
            if (count > 0 && IsRepString(insn)) break;
            _scratch[count++] = new GuestInstruction(insn);
            next = insn.NextIP;
            if (EndsBlock(insn) || count >= maxInstructions || (next & PageMask) != page) break;
        }
        instructions = _scratch.AsSpan(0, count).ToArray();
        return true;
    }

    /// <summary>
    /// Decides whether bytes that end at an unfetchable address are already an invalid
    /// instruction (then the CPU raises #UD, not a fetch fault). Iced reads a ModRM byte after
    /// some invalid opcodes, so "ran out of bytes" does not mean the instruction needs them:
    /// decoding the available bytes padded with zeros tells. On true, <paramref name="insn"/> is
    /// the invalid instruction.
    /// </summary>
    private bool IsInvalidWhateverFollows(ulong rip, ulong faultAddress, ref Instruction insn)
    {
        int available = (int)Math.Min(faultAddress - rip, 15);
        if (available <= 0) return false;
        var bytes = new byte[15];
        if (Memory.Fetch(rip, bytes.AsSpan(0, available), out _) != available) return false;
        var padded = Decoder.Create(64, new ByteArrayCodeReader(bytes), rip, DecoderOptions.None);
        padded.Decode(out var probe);
        if (probe.Code != Code.INVALID || padded.LastError == DecoderError.NoMoreBytes) return false;
        insn = probe;
        return true;
    }

    /// <summary>True when no instruction may follow <paramref name="insn"/> in its block.</summary>
    public static bool EndsBlock(in Instruction insn) =>
        insn.Code == Code.INVALID
        || insn.FlowControl != FlowControl.Next
        || IsSystemInstruction(insn)
        || IsRepString(insn);

    /// <summary>A string instruction with a REP/REPE/REPNE prefix.</summary>
    public static bool IsRepString(in Instruction insn) =>
        insn.IsStringInstruction && (insn.HasRepPrefix || insn.HasRepnePrefix);

    /// <summary>
    /// True for instructions executed by the hypervisor (lowered to System ops) or privileged:
    /// CPUID, RDTSC(P), MOV CR/DR/Sreg, descriptor-table and MSR instructions, port I/O, SWAPGS,
    /// FS/GS base access, cache control, and anything Iced marks privileged.
    /// </summary>
    public static bool IsSystemInstruction(in Instruction insn)
    {
        if (insn.IsPrivileged) return true;
        switch (insn.Mnemonic)
        {
            case Mnemonic.Cpuid:
            case Mnemonic.Rdtsc:
            case Mnemonic.Rdtscp:
            case Mnemonic.Rdpmc:
            case Mnemonic.Sgdt:
            case Mnemonic.Sidt:
            case Mnemonic.Sldt:
            case Mnemonic.Str:
            case Mnemonic.Smsw:
            case Mnemonic.Syscall:
            case Mnemonic.Sysret:
            case Mnemonic.Sysretq:
            case Mnemonic.Swapgs:
            case Mnemonic.Iret:
            case Mnemonic.Iretd:
            case Mnemonic.Iretq:
            case Mnemonic.Clflush:
            case Mnemonic.Clflushopt:
            case Mnemonic.Rdfsbase:
            case Mnemonic.Rdgsbase:
            case Mnemonic.Wrfsbase:
            case Mnemonic.Wrgsbase:
            case Mnemonic.In:
            case Mnemonic.Out:
            case Mnemonic.Insb:
            case Mnemonic.Insw:
            case Mnemonic.Insd:
            case Mnemonic.Outsb:
            case Mnemonic.Outsw:
            case Mnemonic.Outsd:
            case Mnemonic.Hlt:
            case Mnemonic.Ud2:
            case Mnemonic.Int:
            case Mnemonic.Int1:
            case Mnemonic.Int3:
                return true;
        }
        for (int n = 0; n < insn.OpCount; n++)
        {
            if (insn.GetOpKind(n) != OpKind.Register) continue;
            var reg = insn.GetOpRegister(n);
            if (reg.IsSegmentRegister() || reg.IsCR() || reg.IsDR()) return true;
        }
        return false;
    }
}
