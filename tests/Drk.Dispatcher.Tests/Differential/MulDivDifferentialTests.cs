namespace Drk.Dispatcher.Tests.Differential;

// Each theory row is one instruction form, run for DRK_DIFF_CASES (default 200) random cases.

/// <summary>MUL IMUL DIV IDIV against the host CPU.</summary>
public sealed class MulDivDifferentialTests
{
    public static TheoryData<string> Forms => FormCatalog.Group("MulDiv");

    [SkippableTheory, MemberData(nameof(Forms))]
    public void Form(string name) => DifferentialHarness.Check(FormCatalog.Get(name));
}
