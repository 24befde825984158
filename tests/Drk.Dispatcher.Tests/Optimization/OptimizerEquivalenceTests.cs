using Drk.Dispatcher.Execution;
using Drk.Dispatcher.Tests.Execution;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Optimization;

/// <summary>
/// Property: optimised and unoptimised IR of the same guest code execute identically (status,
/// fault, every guest-state slot, memory, retired count), over random programs.
/// </summary>
public sealed class OptimizerEquivalenceTests
{
    private const ulong DataBase = 0x60_0000;
    private const ulong StackTop = 0x80_0000;

    private sealed class Machine
    {
        public readonly FlatMemory Memory = new();
        public readonly byte[] Data;
        public readonly byte[] Stack = new byte[0x1000];
        public readonly VcpuState State = new();
        public readonly GuestRunner Runner;

        public Machine(byte[] code, byte[] data, VcpuState initial, bool optimize)
        {
            Data = (byte[])data.Clone();
            Memory.Map(IrTestKit.CodeBase, code, writable: false);
            Memory.Map(DataBase, Data, executable: false);
            Memory.Map(StackTop - 0x1000, Stack, executable: false);
            State.CopyFrom(initial);
            Runner = new GuestRunner(Memory) { Optimize = optimize };
        }
    }

    [Fact]
    public void Optimised_and_unoptimised_blocks_execute_identically()
    {
        const int seed = 0x0b71_5eed;
        const int programs = 300;
        var random = new Random(seed);
        var outcomes = new Dictionary<string, int>();
        for (int p = 0; p < programs; p++)
        {
            var code = IrTestKit.Assemble(a => RandomProgram.Emit(a, random, random.Next(4, 40)));
            var data = new byte[0x1000];
            random.NextBytes(data);
            var initial = new VcpuState();
            for (int r = 0; r < 16; r++) initial[r] = Interesting(random);
            initial[GuestReg.Rbp] = DataBase;
            initial[GuestReg.Rsp] = StackTop - 0x800;
            initial.Rip = IrTestKit.CodeBase;
            initial.Slots[GuestReg.FlagsOther] = 2;
            // A random but valid starting thunk: Copy of random arithmetic flags.
            initial.Slots[GuestReg.CcDep1] = (ulong)random.Next(0x1000) & 0x8d5;

            var plain = new Machine(code, data, initial, optimize: false);
            var optimised = new Machine(code, data, initial, optimize: true);
            ulong end = IrTestKit.CodeBase + (ulong)code.Length;
            var s1 = plain.Runner.Run(plain.State, end, 5000, out var f1);
            var s2 = optimised.Runner.Run(optimised.State, end, 5000, out var f2);

            string where = $"seed {seed:x} program {p}: {Convert.ToHexString(code).ToLowerInvariant()}";
            Assert.True(s1 == s2, $"{where}: status {s1} vs {s2}");
            Assert.True(f1.Vector == f2.Vector && f1.Rip == f2.Rip && f1.ErrorCode == f2.ErrorCode && f1.Cr2 == f2.Cr2,
                $"{where}: fault {f1} vs {f2}");
            Assert.True(plain.Runner.Retired == optimised.Runner.Retired, $"{where}: retired {plain.Runner.Retired} vs {optimised.Runner.Retired}");
            for (int slot = 0; slot < GuestReg.Count; slot++)
                Assert.True(plain.State.Slots[slot] == optimised.State.Slots[slot],
                    $"{where}: {GuestReg.Name(slot)} {plain.State.Slots[slot]:x} vs {optimised.State.Slots[slot]:x}");
            Assert.True(plain.Data.AsSpan().SequenceEqual(optimised.Data), $"{where}: data memory differs");
            Assert.True(plain.Stack.AsSpan().SequenceEqual(optimised.Stack), $"{where}: stack memory differs");
            string outcome = s1 == RunStatus.Exception ? $"{f1.Vector}" : s1.ToString();
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }
        // Most programs must run to their end, or the property was checked on little code; some
        // fault on purpose (loads through arbitrary registers) to check precise state.
        string summary = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}: {o.Value}"));
        Assert.True(outcomes.GetValueOrDefault(nameof(RunStatus.Stopped)) >= programs / 2 && outcomes.GetValueOrDefault(nameof(ExceptionVector.PageFault)) > 0, $"outcomes (seed {seed:x}): {summary}");
    }

    private static ulong Interesting(Random random) => random.Next(8) switch
    {
        0 => 0,
        1 => ulong.MaxValue,
        2 => 0x8000_0000_0000_0000,
        3 => 0x7fff_ffff_ffff_ffff,
        4 => 0x8000_0000,
        5 => (ulong)random.Next(-5, 5),
        _ => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40),
    };
}
