namespace Drk.Dispatcher.Tests.Differential;

// Each theory row is one instruction form, run for DRK_DIFF_CASES (default 200) random cases.

/// <summary>Random sequences, flag producer/consumer pairs, a loop and a call against the host CPU.</summary>
public sealed class SequenceDifferentialTests
{
    public static TheoryData<string> Forms => FormCatalog.Group("Sequence");

    [SkippableTheory, MemberData(nameof(Forms))]
    public void Form(string name) => DifferentialHarness.Check(FormCatalog.Get(name));
}
