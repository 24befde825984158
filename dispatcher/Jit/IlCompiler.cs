using System.Diagnostics;
using System.Reflection.Emit;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// Tier 1: compiles a block's IR to a .NET method (<see cref="DynamicMethod"/>, so RyuJIT makes
/// machine code of it) that behaves exactly like <see cref="IrInterpreter"/> on the same block.
/// </summary>
/// <remarks>
/// <para>
/// Loads and stores are specialised on the runtime's memory: over an <see cref="Mmu"/> the soft-TLB
/// fast path is inlined (<see cref="TlbFastPath"/>) with the MMU's own Read/Write on a miss; a
/// <see cref="FlatMemory"/> is called directly; any other memory through its interface. The code
/// is therefore bound to its runtime's vCPU, like a fragment in a CPU-private code cache.
/// </para>
/// <para>
/// Compiling costs a few hundred microseconds per block (DESIGN.md section 10), so the tier-up
/// policy (<see cref="JitTier"/>) compiles only hot blocks. Thread-safe: blocks may be compiled on
/// any thread, the code runs on the vCPU's.
/// </para>
/// </remarks>
public sealed class IlCompiler
{
    private readonly JitRuntime _runtime;
    private readonly MemoryAccessPath _path;
    private readonly nint _supervisorTlb;
    private readonly nint _userTlb;
    private readonly nint _interpreterTemps;
    // The system ops traces entered at CPL 0 do inline: those the emitter can do and the system vouches for.
    private readonly ulong _inlineSystem;

    public IlCompiler(JitRuntime runtime)
    {
        _runtime = runtime;
        if (runtime.System is { } system)
            for (int op = 0; op < 64; op++)
                if ((IlBlockEmitter.InlinableSystemOps & (1UL << op)) != 0 && system.IsArchitecturalAtCpl0((SystemOp)op))
                    _inlineSystem |= 1UL << op;
        _interpreterTemps = runtime.Interpreter.TempsAddress;
        switch (runtime.Memory)
        {
            case Mmu mmu:
                _path = MemoryAccessPath.Mmu;
                _supervisorTlb = TlbFastPath.EntriesAddress(mmu, user: false);
                _userTlb = TlbFastPath.EntriesAddress(mmu, user: true);
                break;
            case FlatMemory:
                _path = MemoryAccessPath.Flat;
                break;
            default:
                _path = MemoryAccessPath.Interface;
                break;
        }
    }

    /// <summary>The runtime compiled blocks run against.</summary>
    public JitRuntime Runtime => _runtime;

    /// <summary>Compiles <paramref name="block"/> (which must not change afterwards).</summary>
    /// <exception cref="NotSupportedException">The block holds an op this tier does not compile; interpret it.</exception>
    public CompiledBlock Compile(IrBlock block)
    {
        long start = Stopwatch.GetTimestamp();
        var compiled = new CompiledBlock(block, _runtime);
        var method = new DynamicMethod(
            $"drk_block_{block.StartRip:x}", typeof(int), [typeof(CompiledBlock), typeof(VcpuState)],
            typeof(CompiledBlock).Module, skipVisibility: true)
        {
            // Verified IR writes every temp before reading it, so the zeroing would be wasted work on every call.
            InitLocals = false,
        };
        var il = method.GetILGenerator(64 + 24 * block.Count);
        var emitter = new IlBlockEmitter(block, il, _path, _supervisorTlb, _userTlb, _interpreterTemps) { Counters = _runtime.Counters };
        emitter.Emit();
        compiled.IlSize = il.ILOffset;
        var code = method.CreateDelegate<Func<VcpuState, int>>(compiled);
        // The generated code returns at once for a null state; calling it runs RyuJIT here.
        code(null!);
        compiled.SetCode(code, emitter.Exits);
        compiled.CompileTime = Stopwatch.GetElapsedTime(start);
        return compiled;
    }

    /// <summary>
    /// Compiles a trace, the path <paramref name="blocks"/> (none may change afterwards), into one
    /// method (<see cref="IlTraceEmitter"/>): exits to the next block of the path or back to the
    /// first stay inside it. <see cref="CompiledBlock.ExitSection"/> says which block it left from.
    /// With <paramref name="entryCpl"/>, the privilege level the trace is always entered at (the one
    /// its blocks were recorded at), the method starts with that level's TLB instead of selecting it.
    /// Indirect exits also stay inside when their target starts one of <paramref name="joinedHeads"/>
    /// (block indices, <see cref="Execution.Trace.JoinedHeads"/>).
    /// </summary>
    /// <exception cref="NotSupportedException">A block holds an op this tier does not compile.</exception>
    public CompiledBlock CompileTrace(IrBlock[] blocks, int entryCpl = -1, int[]? joinedHeads = null)
    {
        long start = Stopwatch.GetTimestamp();
        var compiled = new CompiledBlock(blocks, _runtime);
        int ops = 0;
        foreach (var b in blocks) ops += b.Count;
        var method = new DynamicMethod(
            $"drk_trace_{blocks[0].StartRip:x}", typeof(int), [typeof(CompiledBlock), typeof(VcpuState)],
            typeof(CompiledBlock).Module, skipVisibility: true)
        {
            InitLocals = false,
        };
        var il = method.GetILGenerator(64 + 24 * ops);
        var emitter = new IlTraceEmitter(blocks, il, _path, _supervisorTlb, _userTlb, _interpreterTemps, entryCpl, joinedHeads, _inlineSystem) { Counters = _runtime.Counters };
        emitter.Emit();
        compiled.IlSize = il.ILOffset;
        compiled.ChainTable = entryCpl switch { 3 => compiled.UserTraces, 0 => compiled.SupervisorTraces, _ => null };
        compiled.ChainClearsShadow = emitter.ChainClearsShadow;
        var code = method.CreateDelegate<Func<VcpuState, int>>(compiled);
        code(null!);
        compiled.SetCode(code, emitter.Exits, emitter.ChainSites);
        compiled.CompileTime = Stopwatch.GetElapsedTime(start);
        return compiled;
    }

    /// <summary>As <see cref="CompileTrace"/>; null with the reason when a block holds an op this tier does not compile.</summary>
    public CompiledBlock? TryCompileTrace(IrBlock[] blocks, out string? reason, int entryCpl = -1, int[]? joinedHeads = null)
    {
        try
        {
            reason = null;
            return CompileTrace(blocks, entryCpl, joinedHeads);
        }
        catch (NotSupportedException e)
        {
            reason = e.Message;
            return null;
        }
    }

    /// <summary>As <see cref="Compile"/>; null with the reason when the block holds an op this tier does not compile.</summary>
    public CompiledBlock? TryCompile(IrBlock block, out string? reason)
    {
        try
        {
            reason = null;
            return Compile(block);
        }
        catch (NotSupportedException e)
        {
            reason = e.Message;
            return null;
        }
    }
}
