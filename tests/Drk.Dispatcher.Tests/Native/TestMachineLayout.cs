namespace Drk.Dispatcher.Tests.Native;

/// <summary>
/// Where a differential case lives in the address space, shared by the native run and the
/// interpreter so both see the same bytes at the same linear addresses:
/// <code>
///   Base + 0x00000  stub page   (native only) prologue at +0, epilogue at +EpilogueOffset
///   Base + 0x01000  state page  (native only) GPR/RFLAGS buffer, host RSP, signal masks
///   Base + 0x02000  code        the case's bytes, then "jmp epilogue", then int3 filler
///   Base + 0x04000  scratch     64 KiB of data the case reads and writes; its stack is at the top
/// </code>
/// </summary>
/// <remarks>
/// The interpreter maps only the code and the scratch area, so a case that strays into the stub
/// or state pages raises a #PF in the interpreter instead of corrupting the harness. Code and
/// scratch are within 2 GiB of each other so RIP-relative operands can reach scratch.
/// </remarks>
public sealed class TestMachineLayout
{
    /// <summary>
    /// The address the harness asks mmap for. Above 4 GiB so that an address computation
    /// truncated to 32 bits shows up as a fault; fixed so that failure messages are reproducible.
    /// </summary>
    public const ulong PreferredBase = 0x0000_2000_0000_0000;

    public const int PageSize = 0x1000;
    public const int StubOffset = 0x0000;
    public const int EpilogueOffset = 0x800;
    public const int StateOffset = 0x1000;
    public const int CodeOffset = 0x2000;
    public const int CodeSize = 0x2000;
    public const int ScratchOffset = 0x4000;
    public const int ScratchSize = 0x10000;
    public const int TotalSize = ScratchOffset + ScratchSize;

    /// <summary>Scratch offsets [DataStart, DataEnd) hold memory operands; above DataEnd is the stack.</summary>
    public const int DataStart = 0x0000;
    public const int DataEnd = 0xC000;

    /// <summary>Scratch offset of the default initial RSP: 8 KiB of stack below, 8 KiB above for pops and RET imm.</summary>
    public const int StackTopOffset = 0xE000;

    public TestMachineLayout(ulong baseAddress) => Base = baseAddress;

    public ulong Base { get; }
    public ulong EpilogueAddress => Base + EpilogueOffset;
    public ulong StateAddress => Base + StateOffset;
    public ulong CodeAddress => Base + CodeOffset;
    public ulong ScratchAddress => Base + ScratchOffset;
    public ulong StackTop => ScratchAddress + StackTopOffset;

    /// <summary>The largest case the code area holds, leaving room for the closing jump.</summary>
    public const int MaxCodeLength = CodeSize - 16;

    /// <summary>True when [address, address + size) lies inside scratch.</summary>
    public bool InScratch(ulong address, int size) =>
        address >= ScratchAddress && address + (ulong)size <= ScratchAddress + ScratchSize && address + (ulong)size >= address;

    /// <summary>The layout the interpreter-only tests use when no native region exists.</summary>
    public static readonly TestMachineLayout Default = new(PreferredBase);
}
