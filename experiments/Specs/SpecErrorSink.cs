using YamlDotNet.RepresentationModel;

namespace Drk.Experiments.Specs;

/// <summary>Collects spec errors for one file, each located at a YAML node.</summary>
internal sealed class SpecErrorSink(string file)
{
    private readonly List<SpecError> _errors = [];

    public string File { get; } = file;

    public IReadOnlyList<SpecError> Errors => _errors;

    public void Add(YamlNode node, string message) =>
        _errors.Add(new SpecError(File, node.Start.Line, node.Start.Column, message));

    public void Add(long line, long column, string message) => _errors.Add(new SpecError(File, line, column, message));
}
