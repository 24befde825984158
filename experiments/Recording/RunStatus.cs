namespace Drk.Experiments.Recording;

/// <summary>How a recorded run ended.</summary>
public enum RunStatus
{
    /// <summary>The guest exited with status 0 and reported a result for its workload.</summary>
    Ok,

    /// <summary>Anything else; the record's reason says what.</summary>
    Failed,
}
