namespace Drk.Dispatcher.Symbols;

/// <summary>
/// Walks a guest kernel stack by frame pointers: every frame of code built with
/// -fno-omit-frame-pointer starts with <c>push %rbp; mov %rsp,%rbp</c>, so [rbp] holds the
/// caller's rbp and [rbp+8] the return address into the caller.
/// </summary>
/// <remarks>
/// <para>The walk stops at the first of: the output span is full; a word cannot be read; a
/// return address that is not code (with an <see cref="ICodeMap"/>: not in a code section of
/// the kernel or a loaded module; without: below the kernel half, 0xffff800000000000); an rbp
/// that is 0 or not 8-aligned; a saved rbp not above the current one (stacks grow down, so a
/// caller's frame lies above; this also ends loops in a corrupted chain).</para>
/// <para>What frame pointers cannot see: the function RIP is in, until its prologue has run
/// (rbp still points at the caller's frame, so the caller is skipped) or after its
/// epilogue has popped rbp. With an <see cref="ICodeMap"/> the unwinder repairs the cases that
/// matter most for function wrapping and faults on return: at a function's first instruction
/// the return address is [rsp], after <c>push %rbp</c> it is [rsp+8], and at a <c>ret</c> it is
/// [rsp]. It cannot repair code that runs without a frame in the middle of a function (gcc's
/// shrink-wrapped early exits), assembly without frames (interrupt and system-call entry,
/// uaccess copies), or the interrupted function of an interrupt or exception (its RIP is in the
/// trap frame; the chain goes on from its caller). docs/symbols.md has the details.</para>
/// </remarks>
public sealed class FramePointerUnwinder
{
    /// <summary>Where the kernel half of the canonical address space starts.</summary>
    public const ulong KernelSpaceStart = 0xffff_8000_0000_0000;

    private const byte PushRbp = 0x55;
    private const byte Ret = 0xc3;

    private readonly ICodeMap? code;

    /// <summary>Creates an unwinder; with <paramref name="code"/> (a <see cref="Symbolizer"/>) return addresses are checked against code sections and the first frame is repaired in prologues and at ret.</summary>
    public FramePointerUnwinder(ICodeMap? code = null)
    {
        this.code = code;
    }

    /// <summary>
    /// Writes the return addresses of the frames above <paramref name="rip"/> into
    /// <paramref name="returnAddresses"/>, innermost first, and returns how many were written; RIP
    /// itself is not included (as in ErrorReport.Stack). Symbolise them with
    /// <see cref="Symbolizer.SymbolizeReturnAddress"/>. Allocation-free; reads guest memory only
    /// through <paramref name="read"/>.
    /// </summary>
    public int Unwind(ulong rip, ulong rsp, ulong rbp, GuestWordReader read, Span<ulong> returnAddresses)
    {
        ArgumentNullException.ThrowIfNull(read);
        var count = 0;

        if (count < returnAddresses.Length && TryFirstReturnAddress(rip, rsp, read, out var first))
            returnAddresses[count++] = first;

        while (count < returnAddresses.Length)
        {
            if (rbp == 0 || (rbp & 7) != 0)
                break;
            if (!read(rbp, out var savedRbp) || !read(unchecked(rbp + 8), out var returnAddress))
                break;
            if (!IsReturnAddress(returnAddress))
                break;
            returnAddresses[count++] = returnAddress;
            if (savedRbp <= rbp)
                break;
            rbp = savedRbp;
        }
        return count;
    }

    /// <summary>The return address of RIP's own function when its frame is not (or no longer) linked through rbp.</summary>
    private bool TryFirstReturnAddress(ulong rip, ulong rsp, GuestWordReader read, out ulong returnAddress)
    {
        returnAddress = 0;
        if (code is null || (rsp & 7) != 0 || !code.IsCode(rip))
            return false;
        ulong slot;
        var inFunction = code.TryGetFunctionStart(rip, out var start);
        if (inFunction && rip == start)
            slot = rsp;
        else if (inFunction && rip == start + 1 && TryReadByte(read, start, out var opcode) && opcode == PushRbp)
            slot = rsp + 8;
        else if (TryReadByte(read, rip, out opcode) && opcode == Ret)
            slot = rsp;
        else
            return false;
        return read(slot, out returnAddress) && IsReturnAddress(returnAddress);
    }

    private bool IsReturnAddress(ulong address) => code?.IsCode(address) ?? address >= KernelSpaceStart;

    private static bool TryReadByte(GuestWordReader read, ulong address, out byte value)
    {
        if (!read(address & ~7UL, out var word))
        {
            value = 0;
            return false;
        }
        value = (byte)(word >> (int)((address & 7) * 8));
        return true;
    }
}
