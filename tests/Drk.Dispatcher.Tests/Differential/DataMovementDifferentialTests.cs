namespace Drk.Dispatcher.Tests.Differential;

// Each theory row is one instruction form, run for DRK_DIFF_CASES (default 200) random cases.

/// <summary>Data movement, exchanges, CMOVcc and SETcc against the host CPU.</summary>
public sealed class DataMovementDifferentialTests
{
    public static TheoryData<string> Forms => FormCatalog.Group("DataMovement");

    [SkippableTheory, MemberData(nameof(Forms))]
    public void Form(string name) => DifferentialHarness.Check(FormCatalog.Get(name));
}
