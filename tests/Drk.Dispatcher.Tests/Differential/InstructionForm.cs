using Drk.Dispatcher.Tests.Native;

namespace Drk.Dispatcher.Tests.Differential;

/// <summary>
/// One row of a differential suite: an instruction form (an encoding with a register or memory
/// operand, a prefix, or a small sequence) and the generator that makes a random case of it.
/// </summary>
public sealed class InstructionForm
{
    public InstructionForm(string name, Action<CaseBuilder> build, HostFeature requires = HostFeature.None, int caseMultiplier = 1)
    {
        Name = name;
        Build = build;
        Requires = requires;
        CaseMultiplier = caseMultiplier;
    }

    /// <summary>The row name shown by the test runner, e.g. "Add_rm32_imm8 mem" (Iced's Code name plus variant).</summary>
    public string Name { get; }

    /// <summary>Fills a <see cref="CaseBuilder"/> with one random case (it calls <see cref="CaseBuilder.Finish"/>).</summary>
    public Action<CaseBuilder> Build { get; }

    /// <summary>Host ISA extensions the form needs natively.</summary>
    public HostFeature Requires { get; }

    /// <summary>Runs this many times the per-form case count (random sequences explore a larger space than one encoding).</summary>
    public int CaseMultiplier { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}
