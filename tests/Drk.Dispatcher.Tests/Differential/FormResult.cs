namespace Drk.Dispatcher.Tests.Differential;

/// <summary>The outcome of running all cases of one instruction form.</summary>
public sealed class FormResult
{
    public FormResult(string form, ulong seed, int cases, int failures, string? firstFailure)
    {
        Form = form;
        Seed = seed;
        Cases = cases;
        Failures = failures;
        FirstFailure = firstFailure;
    }

    public string Form { get; }
    public ulong Seed { get; }
    public int Cases { get; }
    public int Failures { get; }

    /// <summary>The full report of the first failing case, or null when all passed.</summary>
    public string? FirstFailure { get; }

    /// <summary>A summary line followed by the first failure's report.</summary>
    public string Message =>
        $"{Failures} of {Cases} cases of '{Form}' differ from the host CPU (DRK_DIFF_SEED=0x{Seed:x} reproduces). First:\n{FirstFailure}";
}
