namespace Drk.Dispatcher.Tests.Differential;

// Each theory row is one instruction form, run for DRK_DIFF_CASES (default 200) random cases.

/// <summary>NOPs, fences, PAUSE, ENDBR64 and flag instructions against the host CPU.</summary>
public sealed class MiscDifferentialTests
{
    public static TheoryData<string> Forms => FormCatalog.Group("Misc");

    [SkippableTheory, MemberData(nameof(Forms))]
    public void Form(string name) => DifferentialHarness.Check(FormCatalog.Get(name));
}
