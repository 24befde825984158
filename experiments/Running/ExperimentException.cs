namespace Drk.Experiments.Running;

/// <summary>A problem with how the runner was asked to run (not with a run): printed as one line, exit status 2.</summary>
public sealed class ExperimentException(string message) : Exception(message);
