namespace Drk.Dispatcher.Tests.Differential;

// Each theory row is one instruction form, run for DRK_DIFF_CASES (default 200) random cases.

/// <summary>ADD ADC SUB SBB CMP NEG INC DEC AND OR XOR NOT TEST against the host CPU.</summary>
public sealed class ArithmeticDifferentialTests
{
    public static TheoryData<string> Forms => FormCatalog.Group("Arithmetic");

    [SkippableTheory, MemberData(nameof(Forms))]
    public void Form(string name) => DifferentialHarness.Check(FormCatalog.Get(name));
}
