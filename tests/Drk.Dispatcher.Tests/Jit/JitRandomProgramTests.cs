using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tests.Execution;
using Drk.Dispatcher.Tests.Optimization;
using Drk.Hv.Boot;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Jit;

/// <summary>
/// Property: random guest programs (the optimiser tests' generator: ALU, shifts, multiplies, moves,
/// loads and stores, stack, flags consumers, branches, loops, and loads through arbitrary registers
/// that fault mid-block) run identically through the interpreter and through compiled code: status,
/// fault, every slot, memory and retired count. Over <see cref="FlatMemory"/> and over the
/// hypervisor's <see cref="Mmu"/> (TLB fast path and misses), with optimised and plain IR.
/// </summary>
public sealed class JitRandomProgramTests
{
    private const ulong DataBase = 0x60_0000;
    private const ulong StackTop = 0x80_0000;
    private const int Programs = 200;

    /// <summary>One guest of a pair: memory, state and a runner on the given tier.</summary>
    private sealed class Guest : IDisposable
    {
        public readonly VcpuState State = new();
        public readonly GuestRunner Runner;
        private readonly Func<byte[]> _image;
        private readonly PhysicalMemory? _physical;

        public Guest(byte[] code, byte[] data, VcpuState initial, ExecutionTier tier, bool optimize, bool mmu)
        {
            State.CopyFrom(initial);
            IGuestMemory memory;
            if (mmu)
            {
                _physical = new PhysicalMemory(TierTwin.RamSize);
                _physical.WriteBytes(IrTestKit.CodeBase, code);
                _physical.WriteBytes(DataBase, data);
                State.Sys.Cr3 = IdentityPageTables.Build(_physical, 0x10_0000);
                State.Sys.Cr0 = LongModeEntry.Cr0;
                State.Sys.Cr4 = LongModeEntry.Cr4;
                State.Sys.Efer = LongModeEntry.Efer;
                memory = new Mmu(_physical, State);
                var physical = _physical;
                _image = () => physical.GetRamSpan(0, (int)TierTwin.RamSize).ToArray();
            }
            else
            {
                var flat = new FlatMemory();
                var dataCopy = (byte[])data.Clone();
                var stack = new byte[0x1000];
                flat.Map(IrTestKit.CodeBase, code, writable: false);
                flat.Map(DataBase, dataCopy, executable: false);
                flat.Map(StackTop - 0x1000, stack, executable: false);
                memory = flat;
                _image = () => [.. dataCopy, .. stack];
            }
            Runner = new GuestRunner(memory) { Optimize = optimize, Tier = tier };
        }

        public byte[] Image() => _image();

        public void Dispose() => _physical?.Dispose();
    }

    [Theory]
    [InlineData(false, true, 0x1e7_0001)]
    [InlineData(false, false, 0x1e7_0002)]
    [InlineData(true, true, 0x1e7_0003)]
    [InlineData(true, false, 0x1e7_0004)]
    public void Random_programs_run_identically_interpreted_and_compiled(bool mmu, bool optimize, int seed)
    {
        var random = new Random(seed);
        var outcomes = new Dictionary<string, int>();
        long compiledRuns = 0;
        for (int p = 0; p < Programs; p++)
        {
            var code = IrTestKit.Assemble(a => RandomProgram.Emit(a, random, random.Next(4, 40)));
            var data = new byte[0x1000];
            random.NextBytes(data);
            var initial = new VcpuState();
            for (int r = 0; r < 16; r++) initial[r] = JitOpEquivalenceTests.Interesting(random);
            initial[GuestReg.Rbp] = DataBase;
            initial[GuestReg.Rsp] = StackTop - 0x800;
            initial.Rip = IrTestKit.CodeBase;
            initial.Slots[GuestReg.FlagsOther] = 2;
            initial.Slots[GuestReg.CcDep1] = (ulong)random.Next(0x1000) & 0x8d5;

            using var interpreted = new Guest(code, data, initial, ExecutionTier.Interpreter, optimize, mmu);
            using var compiled = new Guest(code, data, initial, ExecutionTier.Jit, optimize, mmu);
            ulong end = IrTestKit.CodeBase + (ulong)code.Length;
            var s1 = interpreted.Runner.Run(interpreted.State, end, 5000, out var f1);
            var s2 = compiled.Runner.Run(compiled.State, end, 5000, out var f2);

            string where = $"seed {seed:x} program {p} ({(mmu ? "mmu" : "flat")}, {(optimize ? "optimised" : "plain")}): {Convert.ToHexString(code).ToLowerInvariant()}";
            Assert.True(s1 == s2, $"{where}: status {s1} vs {s2}");
            Assert.True(f1.Vector == f2.Vector && f1.Rip == f2.Rip && f1.ErrorCode == f2.ErrorCode && f1.Cr2 == f2.Cr2 && f1.HasErrorCode == f2.HasErrorCode,
                $"{where}: fault {f1} vs {f2}");
            Assert.True(interpreted.Runner.Retired == compiled.Runner.Retired, $"{where}: retired {interpreted.Runner.Retired} vs {compiled.Runner.Retired}");
            Assert.True(interpreted.State.InstructionsRetired == compiled.State.InstructionsRetired, $"{where}: clock differs");
            for (int slot = 0; slot < GuestReg.Count; slot++)
                Assert.True(interpreted.State.Slots[slot] == compiled.State.Slots[slot],
                    $"{where}: {GuestReg.Name(slot)} {interpreted.State.Slots[slot]:x} vs {compiled.State.Slots[slot]:x}");
            Assert.True(interpreted.Image().AsSpan().SequenceEqual(compiled.Image()), $"{where}: memory differs");

            var stats = compiled.Runner.Jit!.Statistics;
            Assert.True(stats.InterpretedExecutions == 0 && stats.Unsupported == 0, $"{where}: {stats}");
            compiledRuns += stats.CompiledExecutions;
            string outcome = s1 == RunStatus.Exception ? $"{f1.Vector}" : s1.ToString();
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        string summary = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}: {o.Value}"));
        Assert.True(outcomes.GetValueOrDefault(nameof(RunStatus.Stopped)) >= Programs / 2 && outcomes.Count > 1,
            $"outcomes (seed {seed:x}): {summary}");
        Assert.True(compiledRuns > Programs, $"only {compiledRuns} compiled block executions");
    }
}
