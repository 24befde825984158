using Drk.Dispatcher.Tools.Shadow;

namespace Drk.Dispatcher.Tests.Tools.Shadow;

/// <summary>
/// The shift-and-mask replacements of PDEP/PEXT that 2-bit GetPacked/SetPacked use where BMI2 is
/// missing or slow, checked exhaustively here because this machine's fast path uses PDEP/PEXT.
/// </summary>
public sealed class PairSpreadingTests
{
    [Fact]
    public void SpreadPairsPutsFieldIInByteIForEverySixteenBitInput()
    {
        for (uint bits = 0; bits <= 0xffff; bits++)
        {
            ulong expected = 0;
            for (int i = 0; i < 8; i++) expected |= (ulong)((bits >> (2 * i)) & 3) << (8 * i);
            ulong spread = ShadowMemory.SpreadPairs(bits);
            if (spread != expected) Assert.Fail($"SpreadPairs(0x{bits:x4}) = 0x{spread:x16}, expected 0x{expected:x16}");
            uint gathered = ShadowMemory.GatherPairs(expected | 0xfcfc_fcfc_fcfc_fcfc); // bits above each field are ignored
            if (gathered != bits) Assert.Fail($"GatherPairs(0x{expected:x16}) = 0x{gathered:x4}, expected 0x{bits:x4}");
        }
    }
}
