namespace Drk.Experiments.Specs;

/// <summary>An axis of the run matrix other than the workload, used to group series and panels of figures.</summary>
public enum Dimension
{
    Engine,
    Tier,
    Tool,
    Scope,
    Vcpus,
}
