using Drk.Dispatcher.Decoding;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Lowering;
using Drk.Dispatcher.Optimization;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// The first compilation in a process pays for RyuJIT's own start-up and for loading what the
/// generated code refers to (the first trace of compute-user took 20 ms where the next ones took
/// 3 to 7). The background compiler pays it once, on its own thread, while the guest boots
/// interpreted: it compiles a small loop (a load, a store, flags and both kinds of exit) as a block
/// and as a trace with the tier's own compiler, and throws the code away.
/// </summary>
internal static class JitWarmUp
{
    private const ulong Rip = 0x40_0000;

    // mov [rdi+r10],r9d; add r10,4; cmp r10,16; jne back  |  mov eax,[rsi]; add rsi,4; cmp rsi,rdx; jne back; ret
    private static readonly byte[] Code = Convert.FromHexString("46890C174983C2044983FA1075F28B064883C6044839D675F6C3");

    private static int _done;

    /// <summary>True the first time in the process: the caller should warm up.</summary>
    public static bool Claim() => Interlocked.Exchange(ref _done, 1) == 0;

    /// <summary>Compiles the loop with <paramref name="compiler"/>, as a block and as a trace of all its blocks; the code is dropped. Returns the trace's block count, or 0 if something failed to compile.</summary>
    public static int Run(IlCompiler compiler)
    {
        var memory = new FlatMemory();
        var image = new byte[0x1000];
        Code.CopyTo(image, 0);
        memory.Map(Rip, image, writable: false);
        var decoder = new BlockDecoder(memory);
        var lowerer = new Lowerer();
        var optimizer = new Optimizer();
        var blocks = new List<IrBlock>();
        for (ulong at = Rip; at < Rip + (ulong)Code.Length;)
        {
            if (!decoder.TryDecode(at, out var instructions, out _, BlockDecoder.MaxInstructions, Rip + (ulong)Code.Length)) break;
            var block = lowerer.Lower(instructions, cpl: 0);
            optimizer.Optimize(block);
            blocks.Add(block);
            at = instructions[^1].NextRip;
        }
        if (blocks.Count == 0) return 0;
        bool compiled = compiler.TryCompile(blocks[0], out _) is not null;
        compiled &= compiler.TryCompileTrace(blocks.ToArray(), out _) is not null;
        return compiled ? blocks.Count : 0;
    }
}
