namespace Drk.Experiments.Specs;

/// <summary>A workload the guest runs (<c>run=Name</c>), with optional extra command-line words.</summary>
public sealed record WorkloadSpec(string Name, string? Args)
{
    /// <summary>The guest command line for one run of this workload.</summary>
    public string CommandLine(string baseAppend)
    {
        var parts = new List<string>(3);
        if (!string.IsNullOrWhiteSpace(baseAppend)) parts.Add(baseAppend.Trim());
        parts.Add($"run={Name}");
        if (!string.IsNullOrWhiteSpace(Args)) parts.Add(Args.Trim());
        return string.Join(' ', parts);
    }
}
