namespace Drk.Dispatcher.Tests.Differential;

// Each theory row is one instruction form, run for DRK_DIFF_CASES (default 200) random cases.

/// <summary>Bit tests, bit scans, counts and BMI against the host CPU.</summary>
public sealed class BitDifferentialTests
{
    public static TheoryData<string> Forms => FormCatalog.Group("Bit");

    [SkippableTheory, MemberData(nameof(Forms))]
    public void Form(string name) => DifferentialHarness.Check(FormCatalog.Get(name));
}
