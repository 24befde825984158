using System.Buffers.Binary;
using System.Numerics;
using System.Reflection;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Flags;
using Drk.Dispatcher.IR;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Jit;

/// <summary>The fields, methods and constructors that generated IL refers to, looked up once.</summary>
internal static class IlMembers
{
    private const BindingFlags Internal = BindingFlags.Instance | BindingFlags.NonPublic;

    public static readonly FieldInfo Slots = typeof(VcpuState).GetField(nameof(VcpuState.Slots))!;
    public static readonly MethodInfo ArrayDataReference = typeof(System.Runtime.InteropServices.MemoryMarshal)
        .GetMethods().Single(m => m.Name == nameof(System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference) && m.IsGenericMethodDefinition)
        .MakeGenericMethod(typeof(ulong));
    public static readonly FieldInfo Cpl = typeof(VcpuState).GetField(nameof(VcpuState.Cpl))!;
    public static readonly FieldInfo InstructionsRetired = typeof(VcpuState).GetField(nameof(VcpuState.InstructionsRetired))!;

    public static readonly FieldInfo BlockSection = typeof(CompiledBlock).GetField(nameof(CompiledBlock.Section), Internal)!;
    public static readonly FieldInfo BlockTraceValid = typeof(CompiledBlock).GetField(nameof(CompiledBlock.TraceValid), Internal)!;
    public static readonly FieldInfo BlockLimits = typeof(CompiledBlock).GetField(nameof(CompiledBlock.Limits), Internal)!;
    public static readonly MethodInfo BulkFill = typeof(BulkString).GetMethod(nameof(BulkString.Fill))!;
    public static readonly MethodInfo BulkCopy = typeof(BulkString).GetMethod(nameof(BulkString.Copy))!;
    public static readonly FieldInfo BudgetStopRetired = typeof(TraceBudget).GetField(nameof(TraceBudget.StopRetired))!;
    public static readonly FieldInfo BudgetCurrent = typeof(TraceBudget).GetField(nameof(TraceBudget.Current), Internal)!;
    public static readonly FieldInfo BudgetChains = typeof(TraceBudget).GetField(nameof(TraceBudget.Chains), Internal)!;
    public static readonly FieldInfo BudgetEntrySection = typeof(TraceBudget).GetField(nameof(TraceBudget.EntrySection), Internal)!;
    public static readonly FieldInfo BudgetJoinFrom = typeof(TraceBudget).GetField(nameof(TraceBudget.JoinFrom), Internal)!;
    public static readonly FieldInfo BudgetJoinTo = typeof(TraceBudget).GetField(nameof(TraceBudget.JoinTo), Internal)!;
    public static readonly FieldInfo BlockJoinCountdown = typeof(CompiledBlock).GetField(nameof(CompiledBlock.JoinCountdown), Internal)!;
    public static readonly FieldInfo BlockMain = typeof(CompiledBlock).GetField(nameof(CompiledBlock.Main), Internal)!;
    public static readonly FieldInfo BlockEntry = typeof(CompiledBlock).GetField(nameof(CompiledBlock.Entry), Internal)!;
    public static readonly FieldInfo BudgetExitSite = typeof(TraceBudget).GetField(nameof(TraceBudget.ExitSite), Internal)!;
    public static readonly FieldInfo BlockEntryRip = typeof(CompiledBlock).GetField(nameof(CompiledBlock.EntryRip), Internal)!;
    public static readonly FieldInfo BlockOwner = typeof(CompiledBlock).GetField(nameof(CompiledBlock.Owner), Internal)!;
    public static readonly FieldInfo BlockUserTraces = typeof(CompiledBlock).GetField(nameof(CompiledBlock.UserTraces), Internal)!;
    public static readonly FieldInfo BlockSupervisorTraces = typeof(CompiledBlock).GetField(nameof(CompiledBlock.SupervisorTraces), Internal)!;
    public static readonly FieldInfo BlockResultField = typeof(CompiledBlock).GetField(nameof(CompiledBlock.Result), Internal)!;
    public static readonly MethodInfo ResultEnd = typeof(BlockResult).GetProperty(nameof(BlockResult.End))!.GetMethod!;
    public static readonly FieldInfo BudgetLevelStart = typeof(TraceBudget).GetField(nameof(TraceBudget.LevelStart), Internal)!;
    public static readonly FieldInfo BudgetKernelRetiredBeforeLevel = typeof(TraceBudget).GetField(nameof(TraceBudget.KernelRetiredBeforeLevel), Internal)!;
    public static readonly FieldInfo BudgetReportSyscalls = typeof(TraceBudget).GetField(nameof(TraceBudget.ReportSyscalls), Internal)!;
    public static readonly FieldInfo BudgetSyscallReported = typeof(TraceBudget).GetField(nameof(TraceBudget.SyscallReported), Internal)!;
    public static readonly MethodInfo BlockReportSyscall = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.ReportSyscall), Internal)!;
    public static readonly FieldInfo BudgetSystemJumpsChain = typeof(TraceBudget).GetField(nameof(TraceBudget.SystemJumpsChain), Internal)!;
    public static readonly FieldInfo BlockChainTable = typeof(CompiledBlock).GetField(nameof(CompiledBlock.ChainTable), Internal)!;
    public static readonly FieldInfo BlockChainClearsShadow = typeof(CompiledBlock).GetField(nameof(CompiledBlock.ChainClearsShadow), Internal)!;
    public static readonly FieldInfo BlockChainTargets = typeof(CompiledBlock).GetField(nameof(CompiledBlock.ChainTargets), Internal)!;
    public static readonly FieldInfo BlockCode = RequiredField(typeof(CompiledBlock), "_code");
    public static readonly FieldInfo BlockMmu = typeof(CompiledBlock).GetField(nameof(CompiledBlock.Mmu), Internal)!;
    public static readonly FieldInfo TraceCheckedGeneration = typeof(Trace).GetField(nameof(Trace.CheckedGeneration), Internal)!;
    public static readonly MethodInfo MmuTranslationGeneration = typeof(Mmu).GetProperty(nameof(Mmu.TranslationGeneration))!.GetMethod!;
    public static readonly MethodInfo CodeInvoke = typeof(Func<VcpuState, int>).GetMethod(nameof(Func<VcpuState, int>.Invoke))!;

    // A private field named by string: a rename fails here, at type initialisation, not in generated code.
    private static FieldInfo RequiredField(Type type, string name) =>
        type.GetField(name, Internal) ?? throw new MissingFieldException(type.Name, name);
    public static readonly FieldInfo Sys = typeof(VcpuState).GetField(nameof(VcpuState.Sys))!;
    public static readonly FieldInfo InterruptShadow = typeof(SystemRegisters).GetField(nameof(SystemRegisters.InterruptShadow))!;
    public static readonly FieldInfo KernelGsBase = typeof(SystemRegisters).GetField(nameof(SystemRegisters.KernelGsBase))!;

    public static readonly FieldInfo BlockFlat = typeof(CompiledBlock).GetField(nameof(CompiledBlock.Flat), Internal)!;
    public static readonly FieldInfo BlockMemory = typeof(CompiledBlock).GetField(nameof(CompiledBlock.Memory), Internal)!;
    public static readonly FieldInfo BlockMmuState = typeof(CompiledBlock).GetField(nameof(CompiledBlock.MmuState), Internal)!;
    public static readonly FieldInfo BlockCleanCalls = typeof(CompiledBlock).GetField(nameof(CompiledBlock.CleanCalls), Internal)!;
    public static readonly FieldInfo BlockValue = typeof(CompiledBlock).GetField(nameof(CompiledBlock.Value), Internal)!;
    public static readonly FieldInfo BlockFault = typeof(CompiledBlock).GetField(nameof(CompiledBlock.Fault), Internal)!;

    public static readonly MethodInfo MemoryFault = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.MemoryFault), Internal)!;
    public static readonly MethodInfo DivideError = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.DivideError), Internal)!;
    public static readonly MethodInfo Raise = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.Raise), Internal)!;
    public static readonly MethodInfo SoftInt = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.SoftInt), Internal)!;
    public static readonly MethodInfo SystemCall = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.System), Internal)!;
    public static readonly MethodInfo FastSyscall = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.FastSyscall), Internal)!;
    public static readonly MethodInfo FastSysret = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.FastSysret), Internal)!;
    public static readonly MethodInfo Meta = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.Meta), Internal)!;
    public static readonly MethodInfo TightenStop = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.TightenStop), Internal)!;
    public static readonly MethodInfo RanOffEnd = typeof(CompiledBlock).GetMethod(nameof(CompiledBlock.RanOffEnd), Internal)!;

    private static readonly Type[] ReadSignature = [typeof(ulong), typeof(int), typeof(ulong).MakeByRefType(), typeof(GuestFault).MakeByRefType()];
    private static readonly Type[] WriteSignature = [typeof(ulong), typeof(int), typeof(ulong), typeof(GuestFault).MakeByRefType()];
    public static readonly MethodInfo FlatRead = typeof(FlatMemory).GetMethod(nameof(FlatMemory.Read), ReadSignature)!;
    public static readonly MethodInfo FlatWrite = typeof(FlatMemory).GetMethod(nameof(FlatMemory.Write), WriteSignature)!;
    public static readonly MethodInfo MemoryRead = typeof(IGuestMemory).GetMethod(nameof(IGuestMemory.Read), ReadSignature)!;
    public static readonly MethodInfo MemoryWrite = typeof(IGuestMemory).GetMethod(nameof(IGuestMemory.Write), WriteSignature)!;

    public static readonly MethodInfo CleanCallInvoke = typeof(CleanCallTable).GetMethod(nameof(CleanCallTable.Invoke))!;

    public static readonly MethodInfo TryDivide = typeof(IrEvaluator).GetMethod(nameof(IrEvaluator.TryDivide))!;
    public static readonly MethodInfo MulHighUnsigned = typeof(IrEvaluator).GetMethod(nameof(IrEvaluator.MulHighUnsigned))!;
    public static readonly MethodInfo MulHighSigned = typeof(IrEvaluator).GetMethod(nameof(IrEvaluator.MulHighSigned))!;

    public static readonly MethodInfo FlagsEvaluate = typeof(FlagsCalculator).GetMethod(nameof(FlagsCalculator.Evaluate))!;
    public static readonly MethodInfo FlagsCompute = typeof(FlagsCalculator).GetMethod(nameof(FlagsCalculator.Compute))!;

    public static readonly MethodInfo PopCount = typeof(BitOperations).GetMethod(nameof(BitOperations.PopCount), [typeof(ulong)])!;
    public static readonly MethodInfo Swap16 = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(ushort)])!;
    public static readonly MethodInfo Swap32 = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(uint)])!;
    public static readonly MethodInfo Swap64 = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(ulong)])!;
    public static readonly MethodInfo Ctz = typeof(JitOps).GetMethod(nameof(JitOps.Ctz))!;
    public static readonly MethodInfo Clz = typeof(JitOps).GetMethod(nameof(JitOps.Clz))!;
    public static readonly MethodInfo RotateLeft = typeof(JitOps).GetMethod(nameof(JitOps.RotateLeft))!;
    public static readonly MethodInfo RotateRight = typeof(JitOps).GetMethod(nameof(JitOps.RotateRight))!;
}
