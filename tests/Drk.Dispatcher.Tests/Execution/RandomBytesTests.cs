using Drk.Dispatcher.Decoding;
using Drk.Dispatcher.Execution;
using Drk.Dispatcher.IR;
using Drk.Dispatcher.Lowering;
using Drk.Dispatcher.Optimization;
using Drk.Hv.Cpu;
using Drk.Hv.Memory;

namespace Drk.Dispatcher.Tests.Execution;

/// <summary>
/// Random byte strings through the whole front end and the interpreter: never a host exception;
/// every decode is a verified block (ending in #UD when the bytes are not a supported
/// instruction) or a fetch fault, and executing it ends in a defined way.
/// </summary>
public sealed class RandomBytesTests
{
    private const ulong CodePage = 0x40_0000;
    private const ulong DataBase = 0x60_0000;

    [Fact]
    public void Random_bytes_become_verified_blocks_or_guest_exceptions()
    {
        const int seed = 0x5eed_b17e;
        const int cases = 4000;
        var random = new Random(seed);
        int blocks = 0, invalid = 0, fetchFaults = 0;
        var lowerer = new Lowerer();
        var optimizer = new Optimizer { VerifyEachPass = true };
        for (int i = 0; i < cases; i++)
        {
            var code = new byte[4096];
            random.NextBytes(code);
            int offset = random.Next(4) == 0 ? 4096 - random.Next(1, 16) : random.Next(4096 - 64);
            bool nextPageMapped = random.Next(2) == 0;
            int cpl = random.Next(2) == 0 ? 0 : 3;
            var memory = new FlatMemory();
            memory.Map(CodePage, code, writable: false);
            if (nextPageMapped) memory.Map(CodePage + 4096, Filled(4096, (byte)random.Next(256)), writable: false);
            var data = new byte[0x2000];
            memory.Map(DataBase, data);
            ulong rip = CodePage + (ulong)offset;
            string Describe() => $"seed {seed:x} case {i}: rip {rip:x} bytes {Convert.ToHexString(code.AsSpan(offset, Math.Min(16, 4096 - offset))).ToLowerInvariant()}";
            try
            {
                if (!new BlockDecoder(memory).TryDecode(rip, out var insns, out var fetchFault))
                {
                    Assert.False(nextPageMapped, "a fetch fault with both pages mapped");
                    Assert.Equal(ExceptionVector.PageFault, fetchFault.Vector);
                    Assert.Equal(CodePage + 4096, fetchFault.Cr2);
                    fetchFaults++;
                    continue;
                }
                var block = lowerer.Lower(insns, cpl);
                IrVerifier.ThrowIfInvalid(block, "lowering");
                var last = block.Ops[^1];
                if (last.Code == IrOpcode.Raise && last.Aux == (byte)ExceptionVector.InvalidOpcode) invalid++;
                else blocks++;
                optimizer.Optimize(block);
                IrVerifier.ThrowIfInvalid(block, "optimisation");

                var state = RandomState(random, cpl, rip);
                var result = new IrInterpreter(memory).Execute(block, state);
                Assert.InRange(result.Retired, 0, insns.Length);
                if (result.End == BlockEnd.Fault)
                {
                    Assert.Equal(insns[result.Retired].Rip, result.Fault.Rip);
                    Assert.Equal(result.Fault.Rip, state.Rip);
                }
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                throw new Xunit.Sdk.XunitException($"{Describe()}\n{e}");
            }
            catch (Xunit.Sdk.XunitException e)
            {
                throw new Xunit.Sdk.XunitException($"{Describe()}\n{e.Message}");
            }
        }
        // The random bytes must exercise both outcomes, or the test proves little.
        Assert.True(blocks > cases / 4, $"only {blocks} blocks without #UD of {cases} (seed {seed:x})");
        Assert.True(invalid > 0, $"no #UD among {cases} cases (seed {seed:x})");
        Assert.True(fetchFaults > 0, $"no fetch fault among {cases} cases (seed {seed:x})");
    }

    private static byte[] Filled(int length, byte value)
    {
        var bytes = new byte[length];
        Array.Fill(bytes, value);
        return bytes;
    }

    private static VcpuState RandomState(Random random, int cpl, ulong rip)
    {
        var state = new VcpuState { Cpl = cpl };
        for (int r = 0; r < 16; r++)
            state[r] = random.Next(3) switch
            {
                0 => DataBase + (ulong)random.Next(0x1000),
                1 => (ulong)random.Next(-4, 4),
                _ => (ulong)random.NextInt64(),
            };
        state.Rip = rip;
        state.Slots[GuestReg.FlagsOther] = 2;
        return state;
    }
}
