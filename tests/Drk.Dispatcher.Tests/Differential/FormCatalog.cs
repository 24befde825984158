namespace Drk.Dispatcher.Tests.Differential;

/// <summary>Every instruction form of the differential suites, by group and by name (the theory rows).</summary>
public static class FormCatalog
{
    private static readonly Lazy<Dictionary<string, (string Group, InstructionForm Form)>> Forms = new(Build);

    private static readonly (string Group, Func<IEnumerable<InstructionForm>> Forms)[] Groups =
    {
        ("Arithmetic", ArithmeticForms.All),
        ("MulDiv", MulDivForms.All),
        ("Shift", ShiftForms.All),
        ("Bit", BitForms.All),
        ("DataMovement", DataMovementForms.All),
        ("Stack", StackForms.All),
        ("ControlFlow", ControlFlowForms.All),
        ("String", StringForms.All),
        ("Misc", MiscForms.All),
        ("Sequence", SequenceForms.All),
    };

    private static Dictionary<string, (string, InstructionForm)> Build()
    {
        var all = new Dictionary<string, (string, InstructionForm)>(StringComparer.Ordinal);
        foreach (var (group, forms) in Groups)
            foreach (var form in forms())
                if (!all.TryAdd(form.Name, (group, form)))
                    throw new InvalidOperationException($"two forms are named '{form.Name}'");
        return all;
    }

    /// <summary>The form named <paramref name="name"/>.</summary>
    public static InstructionForm Get(string name) => Forms.Value[name].Form;

    /// <summary>The names of the forms of <paramref name="group"/>, as theory data.</summary>
    public static TheoryData<string> Group(string group)
    {
        var data = new TheoryData<string>();
        foreach (var (name, entry) in Forms.Value)
            if (entry.Group == group) data.Add(name);
        return data;
    }

    /// <summary>All forms.</summary>
    public static IEnumerable<InstructionForm> All()
    {
        foreach (var (_, entry) in Forms.Value) yield return entry.Form;
    }
}
