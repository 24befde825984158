using System.Reflection;
using System.Reflection.Emit;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Jit;

/// <summary>
/// The chain stub, one method for the process that every trace's chain sites tail-call: trace to
/// trace inside compiled code, as the dispatch loop's chaining would do it.
/// </summary>
/// <remarks>
/// <para>
/// <c>int Chain(CompiledBlock self, VcpuState state, int site, int exit, int retired)</c>, tail-called
/// by chain site <c>site</c> of <c>self</c>'s trace (RIP stored, the exit's block's
/// <c>retired</c> instructions not yet counted): when the run loop would not have to look (the
/// retired count reaches the budget's stop) and the site's last target, or else the entry for the
/// RIP in the table of the trace's privilege class (<see cref="CompiledBlock.ChainTable"/>), is a
/// live trace that starts at the RIP and had its pages checked at the current translation
/// generation, the block's count is stored, the join countdown runs, the target becomes the budget's
/// current code and is tail-called. Otherwise the exit is returned with its site noted (its count
/// not stored), for the run loop to chain and fill the site.
/// </para>
/// <para>
/// Every trace used to carry its own copy of this code. It is a dozen basic blocks, and RyuJIT's
/// time follows a method's basic blocks (docs/jit.md), so the copies made up a large part of a
/// small trace's compile time; a chain pays one more call for sharing it. Both calls are tail calls,
/// so the host stack stays flat however long the chain.
/// </para>
/// </remarks>
internal static class TraceChainStub
{
    /// <summary>The stub's method, for <c>call</c> in generated code.</summary>
    public static readonly MethodInfo Method = Emit();

    private static DynamicMethod Emit()
    {
        var method = new DynamicMethod(
            "drk_chain", typeof(int), [typeof(CompiledBlock), typeof(VcpuState), typeof(int), typeof(int), typeof(int)],
            typeof(CompiledBlock).Module, skipVisibility: true)
        {
            InitLocals = false,
        };
        var il = method.GetILGenerator();
        var limits = il.DeclareLocal(typeof(TraceBudget));
        var retired = il.DeclareLocal(typeof(ulong));
        var rip = il.DeclareLocal(typeof(ulong));
        var target = il.DeclareLocal(typeof(CompiledBlock));
        var main = il.DeclareLocal(typeof(CompiledBlock));
        var leave = il.DefineLabel();
        var found = il.DefineLabel();
        var noTable = il.DefineLabel();
        var counted = il.DefineLabel();
        var shadowClear = il.DefineLabel();

        // limits = self.Limits; retired = state.InstructionsRetired + retired (the trace keeps the
        // field current at every boundary); leave when the run loop must get control here.
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockLimits);
        il.Emit(OpCodes.Stloc, limits);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldfld, IlMembers.InstructionsRetired);
        il.Emit(OpCodes.Ldarg_S, (byte)4);
        il.Emit(OpCodes.Conv_I8);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Stloc, retired);
        il.Emit(OpCodes.Ldloc, limits);
        il.Emit(OpCodes.Ldfld, IlMembers.BudgetStopRetired);
        il.Emit(OpCodes.Bge_Un, leave);

        // rip = state.Slots[Rip]; the site's last target, then the table's entry for the RIP.
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldfld, IlMembers.Slots);
        il.Emit(OpCodes.Ldc_I4, (int)GuestReg.Rip);
        il.Emit(OpCodes.Ldelem_I8);
        il.Emit(OpCodes.Stloc, rip);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockChainTargets);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Ldelem_Ref);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Stloc, target);
        IlTraceEmitter.EmitStartsAtRip(il, target, rip, found);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockChainTable);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Brfalse, noTable);
        IlTraceEmitter.EmitTableEntry(il, rip);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Stloc, target);
        IlTraceEmitter.EmitStartsAtRip(il, target, rip, found);
        il.Emit(OpCodes.Br, leave);
        il.MarkLabel(noTable);
        il.Emit(OpCodes.Pop);
        il.Emit(OpCodes.Br, leave);

        il.MarkLabel(found);
        IlTraceEmitter.EmitLiveMain(il, target, main, leave);

        // Going on: the block retires.
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldloc, retired);
        il.Emit(OpCodes.Stfld, IlMembers.InstructionsRetired);
        // The join countdown: the chain that brings it to zero asks the run loop (through the budget)
        // to join this trace with the one it goes on into.
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Dup);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockJoinCountdown);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Sub);
        il.Emit(OpCodes.Stfld, IlMembers.BlockJoinCountdown);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockJoinCountdown);
        il.Emit(OpCodes.Brtrue, counted);
        il.Emit(OpCodes.Ldloc, limits);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Stfld, IlMembers.BudgetJoinFrom);
        il.Emit(OpCodes.Ldloc, limits);
        il.Emit(OpCodes.Ldloc, target);
        il.Emit(OpCodes.Stfld, IlMembers.BudgetJoinTo);
        il.MarkLabel(counted);
        // The next block starts inside compiled code: a shadow an STI of the trace opened is over.
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldfld, IlMembers.BlockChainClearsShadow);
        il.Emit(OpCodes.Brfalse, shadowClear);
        IlTraceEmitter.EmitStoreShadow(il, open: false);
        il.MarkLabel(shadowClear);
        IlTraceEmitter.EmitTailCallTarget(il, limits, main, target);

        il.MarkLabel(leave);
        il.Emit(OpCodes.Ldloc, limits);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Stfld, IlMembers.BudgetExitSite);
        il.Emit(OpCodes.Ldarg_3);
        il.Emit(OpCodes.Ret);
        return method;
    }
}
