using Drk.Dispatcher.Symbols;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>The frame-pointer walk on synthetic stacks: the chain, every stop condition, and the first-frame repairs.</summary>
public sealed class FramePointerUnwinderTests
{
    private const ulong Stack = 0xffff_c900_0001_0000;
    private const ulong Code = 0xffff_ffff_8010_0000;
    private const ulong Rip = Code + 0x123;
    private const ulong Return1 = Code + 0x456;
    private const ulong Return2 = Code + 0x789;
    private const ulong Return3 = Code + 0xabc;

    /// <summary>Three linked frames at Stack+0x10, +0x40, +0x80; the outermost saved rbp is 0.</summary>
    private static SyntheticMemory ThreeFrames()
    {
        var memory = new SyntheticMemory().Map(Stack, 0x100);
        Link(memory, Stack + 0x10, Stack + 0x40, Return1);
        Link(memory, Stack + 0x40, Stack + 0x80, Return2);
        Link(memory, Stack + 0x80, 0, Return3);
        return memory;
    }

    private static void Link(SyntheticMemory memory, ulong rbp, ulong savedRbp, ulong returnAddress)
    {
        memory.Write(rbp, savedRbp);
        memory.Write(rbp + 8, returnAddress);
    }

    private static ulong[] Walk(FramePointerUnwinder unwinder, SyntheticMemory memory, ulong rip, ulong rsp, ulong rbp, int capacity = 16)
    {
        Span<ulong> frames = stackalloc ulong[capacity];
        var count = unwinder.Unwind(rip, rsp, rbp, memory.Read, frames);
        return frames[..count].ToArray();
    }

    [Fact]
    public void WalksTheWholeChain()
    {
        Assert.Equal([Return1, Return2, Return3], Walk(new FramePointerUnwinder(), ThreeFrames(), Rip, Stack, Stack + 0x10));
    }

    [Fact]
    public void StopsWhenTheSpanIsFull()
    {
        var memory = ThreeFrames();
        Assert.Equal([Return1, Return2], Walk(new FramePointerUnwinder(), memory, Rip, Stack, Stack + 0x10, capacity: 2));
        Assert.Equal([Return1], Walk(new FramePointerUnwinder(), memory, Rip, Stack, Stack + 0x10, capacity: 1));
        Assert.Empty(Walk(new FramePointerUnwinder(), memory, Rip, Stack, Stack + 0x10, capacity: 0));
    }

    [Fact]
    public void StopsAtUnreadableMemory()
    {
        var memory = ThreeFrames();
        Link(memory, Stack + 0x40, Stack + 0x10_0000, Return2);
        Assert.Equal([Return1, Return2], Walk(new FramePointerUnwinder(), memory, Rip, Stack, Stack + 0x10));
        Assert.Empty(Walk(new FramePointerUnwinder(), memory, Rip, Stack, 0x1000));
    }

    [Fact]
    public void StopsWhenRbpDoesNotGrow()
    {
        var memory = ThreeFrames();
        Link(memory, Stack + 0x40, Stack + 0x10, Return2); // a loop back to the first frame
        Assert.Equal([Return1, Return2], Walk(new FramePointerUnwinder(), memory, Rip, Stack, Stack + 0x10));
        Link(memory, Stack + 0x40, Stack + 0x40, Return2); // a frame pointing at itself
        Assert.Equal([Return1, Return2], Walk(new FramePointerUnwinder(), memory, Rip, Stack, Stack + 0x10));
    }

    [Fact]
    public void StopsAtZeroOrMisalignedRbp()
    {
        var memory = ThreeFrames();
        Assert.Empty(Walk(new FramePointerUnwinder(), memory, Rip, Stack, 0));
        Assert.Empty(Walk(new FramePointerUnwinder(), memory, Rip, Stack, Stack + 0x14));
        Assert.DoesNotContain(Stack + 0x14, memory.Reads);
    }

    [Fact]
    public void StopsAtAReturnAddressOutsideTheKernel()
    {
        var memory = ThreeFrames();
        Link(memory, Stack + 0x40, Stack + 0x80, 0x40_1000); // a user-mode address
        Assert.Equal([Return1], Walk(new FramePointerUnwinder(), memory, Rip, Stack, Stack + 0x10));
    }

    [Fact]
    public void WithACodeMapStopsAtAReturnAddressOutsideCode()
    {
        var memory = ThreeFrames();
        var unwinder = new FramePointerUnwinder(new FakeCodeMap(Code, Code + 0x800, Code));
        Assert.Equal([Return1, Return2], Walk(unwinder, memory, Rip, Stack, Stack + 0x10)); // Return3 lies beyond the code
    }

    [Fact]
    public void AtAFunctionsFirstInstructionTheCallerComesFromRsp()
    {
        // Stopped on entry to a function at Code+0x100: its caller's frame is still the one in rbp.
        var memory = ThreeFrames();
        const ulong entry = Code + 0x100;
        const ulong caller = Code + 0x300;
        var rsp = Stack + 0x8;
        memory.Write(rsp, caller);
        var unwinder = new FramePointerUnwinder(new FakeCodeMap(Code, Code + 0x1000, entry, Code + 0x200));
        Assert.Equal([caller, Return1, Return2, Return3], Walk(unwinder, memory, entry, rsp, Stack + 0x10));
        // Without a code map nothing tells it this is an entry: the caller is missed.
        Assert.Equal([Return1, Return2, Return3], Walk(new FramePointerUnwinder(), memory, entry, rsp, Stack + 0x10));
    }

    [Fact]
    public void AfterPushRbpTheCallerIsOneSlotUp()
    {
        var memory = ThreeFrames().Map(Code, 0x1000);
        const ulong entry = Code + 0x105; // not 8-aligned: the opcode is read from inside a word
        const ulong caller = Code + 0x300;
        memory.WriteBytes(entry, 0x55, 0x48, 0x89, 0xe5);
        var rsp = Stack;
        memory.Write(rsp, Stack + 0x10); // the pushed rbp
        memory.Write(rsp + 8, caller);
        var unwinder = new FramePointerUnwinder(new FakeCodeMap(Code, Code + 0x1000, entry));
        Assert.Equal([caller, Return1, Return2, Return3], Walk(unwinder, memory, entry + 1, rsp, Stack + 0x10));

        // Without the push the same place is just inside the function.
        memory.WriteBytes(entry, 0x90);
        Assert.Equal([Return1, Return2, Return3], Walk(unwinder, memory, entry + 1, rsp, Stack + 0x10));
    }

    [Fact]
    public void AtRetTheCallerComesFromRsp()
    {
        var memory = ThreeFrames().Map(Code, 0x1000);
        const ulong ret = Code + 0x1f3;
        const ulong caller = Code + 0x300;
        memory.WriteBytes(ret - 1, 0x5d, 0xc3); // pop %rbp; ret
        memory.Write(Stack + 0x8, caller);
        var unwinder = new FramePointerUnwinder(new FakeCodeMap(Code, Code + 0x1000, Code + 0x100));
        Assert.Equal([caller, Return1, Return2, Return3], Walk(unwinder, memory, ret, Stack + 0x8, Stack + 0x10));
        // One instruction earlier (the pop) the frame is still linked.
        Assert.Equal([Return1, Return2, Return3], Walk(unwinder, memory, ret - 1, Stack, Stack + 0x10));
    }

    [Fact]
    public void FirstFrameRepairIgnoresAGarbageSlot()
    {
        var memory = ThreeFrames();
        const ulong entry = Code + 0x100;
        memory.Write(Stack + 0x8, 0xdead); // not code: an interrupt stub's error code, say
        var unwinder = new FramePointerUnwinder(new FakeCodeMap(Code, Code + 0x1000, entry));
        Assert.Equal([Return1, Return2, Return3], Walk(unwinder, memory, entry, Stack + 0x8, Stack + 0x10));
    }

    [Fact]
    public void UnwindingAllocatesNothing()
    {
        var unwinder = new FramePointerUnwinder(new FakeCodeMap(Code, Code + 0x1000, Code));
        GuestWordReader read = (ulong address, out ulong value) =>
        {
            value = address switch
            {
                Stack + 0x10 => Stack + 0x40,
                Stack + 0x18 => Return1,
                Stack + 0x48 => Return2,
                _ => 0,
            };
            return address >= Stack && address < Stack + 0x100;
        };
        var frames = new ulong[8]; // an array, not stackalloc, so the measured lambda can capture it
        var count = 0;
        for (var i = 0; i < 5_000; i++)
            count = unwinder.Unwind(Rip, Stack, Stack + 0x10, read, frames);
        Assert.Equal(0, AllocationProbe.FewestBytes(() =>
        {
            for (var i = 0; i < 10_000; i++)
                count = unwinder.Unwind(Rip, Stack, Stack + 0x10, read, frames);
        }));
        Assert.Equal([Return1, Return2], frames[..count].ToArray());
    }

    [SkippableFact]
    public void WithTheKernelSymbolizerAWrappedFunctionsStackNamesItsCallers()
    {
        var guest = GuestObjects.Require();
        var symbolizer = Symbolizer.ForKernel(guest.Kernel);
        Assert.True(symbolizer.TryFindSymbol("kmalloc", out var kmalloc));
        Assert.True(symbolizer.TryFindSymbol("kfree", out var kfree));
        Assert.True(symbolizer.TryFindSymbol("copy_to_user", out var copyToUser));
        // Stopped at kmalloc's entry (a function-wrapping pre-callback), called from kfree+5, itself called from copy_to_user+9.
        var memory = new SyntheticMemory().Map(Stack, 0x100);
        memory.Write(Stack + 0x8, kfree + 5);
        Link(memory, Stack + 0x20, 0, copyToUser + 9);
        Span<ulong> frames = stackalloc ulong[8];
        var count = new FramePointerUnwinder(symbolizer).Unwind(kmalloc, Stack + 0x8, Stack + 0x20, memory.Read, frames);
        Assert.Equal([kfree + 5, copyToUser + 9], frames[..count].ToArray());
        Assert.Equal(("kfree", 5UL), (symbolizer.SymbolizeReturnAddress(frames[0]).Function, symbolizer.SymbolizeReturnAddress(frames[0]).Offset));
        Assert.Equal(("copy_to_user", 9UL), (symbolizer.SymbolizeReturnAddress(frames[1]).Function, symbolizer.SymbolizeReturnAddress(frames[1]).Offset));
    }
}
