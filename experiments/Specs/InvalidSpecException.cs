namespace Drk.Experiments.Specs;

/// <summary>Thrown when a spec is rejected; carries every problem found, not just the first.</summary>
public sealed class InvalidSpecException(IReadOnlyList<SpecError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<SpecError> Errors { get; } = errors;
}
