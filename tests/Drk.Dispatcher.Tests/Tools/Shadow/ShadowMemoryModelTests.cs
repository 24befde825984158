using Drk.Dispatcher.Tools.Shadow;
using FsCheck.Xunit;

namespace Drk.Dispatcher.Tests.Tools.Shadow;

/// <summary>
/// Property tests: a generated program of shadow calls leaves <see cref="ShadowMemory"/> and a
/// plain byte-per-byte array (the model, updated with Array.Fill and Array.Copy) equal, and every
/// query on the way answers what the model answers.
/// </summary>
public sealed class ShadowMemoryModelTests
{
    [Property(Arbitrary = [typeof(ShadowGenerators)], MaxTest = 300)]
    public void ShadowAgreesWithByteArrayModel(ShadowProgram program)
    {
        var shadow = new ShadowMemory(program.GuestBytes, program.Width, program.Initial);
        var model = new byte[program.GuestBytes];
        Array.Fill(model, program.Initial);
        foreach (ShadowOperation op in program.Operations)
            Apply(shadow, model, op);

        for (ulong pa = 0; pa < program.GuestBytes; pa++)
            if (shadow.Get(pa) != model[pa])
                Assert.Fail($"byte 0x{pa:x}: shadow {shadow.Get(pa)}, model {model[pa]}");

        // A chunk the shadow calls uniform must be uniform in the model, and the statistics must count the others.
        long materialized = 0;
        for (ulong chunk = 0; chunk < program.GuestBytes; chunk += ShadowMemory.ChunkSize)
        {
            var bytes = model.AsSpan((int)chunk, (int)Math.Min(ShadowMemory.ChunkSize, program.GuestBytes - chunk));
            if (shadow.IsUniformChunk(chunk))
                Assert.True(bytes.IndexOfAnyExcept(bytes[0]) < 0, $"chunk at 0x{chunk:x} is shared but not uniform");
            else
                materialized++;
        }
        Assert.Equal(materialized, shadow.Statistics.MaterializedChunks);
    }

    private static void Apply(ShadowMemory shadow, byte[] model, ShadowOperation op)
    {
        int at = (int)op.Address, length = (int)op.Length;
        switch (op.Kind)
        {
            case ShadowOperationKind.Set:
                shadow.Set(op.Address, op.Length, op.Value);
                Array.Fill(model, op.Value, at, length);
                Assert.True(shadow.CheckAll(op.Address, op.Length, op.Value, out ulong end), $"{op}: range not all {op.Value} right after Set");
                Assert.Equal(op.Address + op.Length, end);
                break;
            case ShadowOperationKind.SetPacked:
                shadow.SetPacked(op.Address, length, op.Packed);
                for (int i = 0; i < length; i++) model[at + i] = (byte)(op.Packed >> (8 * i));
                Assert.Equal(op.Packed, shadow.GetPacked(op.Address, length));
                break;
            case ShadowOperationKind.Copy:
                shadow.Copy(op.Address, op.Target, op.Length);
                Array.Copy(model, at, model, (int)op.Target, length);
                break;
            case ShadowOperationKind.Compact:
                shadow.Compact();
                break;
            case ShadowOperationKind.Check:
                Assert.Equal(FirstFailure(model, at, length, b => b != op.Value) < 0, shadow.Check(op.Address, length, op.Value));
                break;
            case ShadowOperationKind.CheckAllowed:
                Assert.Equal(FirstFailure(model, at, length, b => (b & op.Value) != op.Value) < 0, shadow.CheckAllowed(op.Address, length, op.Value));
                break;
            case ShadowOperationKind.GetPacked:
                ulong expected = 0;
                for (int i = 0; i < length; i++) expected |= (ulong)model[at + i] << (8 * i);
                Assert.Equal(expected, shadow.GetPacked(op.Address, length));
                break;
            case ShadowOperationKind.CheckAll:
            {
                int failure = FirstFailure(model, at, length, b => b != op.Value);
                Assert.Equal(failure < 0, shadow.CheckAll(op.Address, op.Length, op.Value, out ulong first));
                Assert.Equal(failure < 0 ? op.Address + op.Length : (ulong)failure, first);
                break;
            }
            case ShadowOperationKind.CheckAllowedRange:
            {
                int failure = FirstFailure(model, at, length, b => (b & op.Value) != op.Value);
                Assert.Equal(failure < 0, shadow.CheckAllowed(op.Address, op.Length, op.Value, out ulong first));
                Assert.Equal(failure < 0 ? op.Address + op.Length : (ulong)failure, first);
                break;
            }
        }
    }

    private static int FirstFailure(byte[] model, int at, int length, Func<byte, bool> fails)
    {
        for (int i = at; i < at + length; i++)
            if (fails(model[i])) return i;
        return -1;
    }
}
