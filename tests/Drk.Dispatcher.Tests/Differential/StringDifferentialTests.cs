namespace Drk.Dispatcher.Tests.Differential;

// Each theory row is one instruction form, run for DRK_DIFF_CASES (default 200) random cases.

/// <summary>String instructions with and without REP prefixes against the host CPU.</summary>
public sealed class StringDifferentialTests
{
    public static TheoryData<string> Forms => FormCatalog.Group("String");

    [SkippableTheory, MemberData(nameof(Forms))]
    public void Form(string name) => DifferentialHarness.Check(FormCatalog.Get(name));
}
