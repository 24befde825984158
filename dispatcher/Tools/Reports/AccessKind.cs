namespace Drk.Dispatcher.Tools.Reports;

/// <summary>What the guest was doing at the reported address.</summary>
public enum AccessKind
{
    /// <summary>No access: the error is about state, not an access (a leak, a bad argument).</summary>
    None,

    /// <summary>A data load.</summary>
    Read,

    /// <summary>A data store.</summary>
    Write,

    /// <summary>An instruction fetch or a control transfer to the address.</summary>
    Execute,

    /// <summary>A call to a deallocator (kfree) with the address.</summary>
    Free,
}
