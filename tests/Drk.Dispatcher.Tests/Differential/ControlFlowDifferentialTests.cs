namespace Drk.Dispatcher.Tests.Differential;

// Each theory row is one instruction form, run for DRK_DIFF_CASES (default 200) random cases.

/// <summary>Branches, loops, calls and returns against the host CPU.</summary>
public sealed class ControlFlowDifferentialTests
{
    public static TheoryData<string> Forms => FormCatalog.Group("ControlFlow");

    [SkippableTheory, MemberData(nameof(Forms))]
    public void Form(string name) => DifferentialHarness.Check(FormCatalog.Get(name));
}
