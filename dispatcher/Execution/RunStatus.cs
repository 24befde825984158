namespace Drk.Dispatcher.Execution;

/// <summary>Why execution of guest code returned to its caller.</summary>
public enum RunStatus : byte
{
    /// <summary>RIP reached the requested stop address.</summary>
    Stopped,
    /// <summary>The instruction budget ran out.</summary>
    BudgetExhausted,
    /// <summary>A guest exception was raised (fault, #UD, #DE, INT n); see the fault. State is as before the instruction (for INT n, RIP is the return address).</summary>
    Exception,
    /// <summary>HLT executed.</summary>
    Halted,
    /// <summary>A system instruction stopped the machine.</summary>
    MachineStop,
}
