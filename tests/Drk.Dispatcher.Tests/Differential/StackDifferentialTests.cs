namespace Drk.Dispatcher.Tests.Differential;

// Each theory row is one instruction form, run for DRK_DIFF_CASES (default 200) random cases.

/// <summary>PUSH POP PUSHFQ POPFQ LEAVE ENTER against the host CPU.</summary>
public sealed class StackDifferentialTests
{
    public static TheoryData<string> Forms => FormCatalog.Group("Stack");

    [SkippableTheory, MemberData(nameof(Forms))]
    public void Form(string name) => DifferentialHarness.Check(FormCatalog.Get(name));
}
