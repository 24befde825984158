using Drk.Dispatcher.Execution;
using Drk.Hv.Cpu;

namespace Drk.Dispatcher.Tests.Native;

/// <summary>How an interpreted run of a differential case ended.</summary>
public sealed class InterpretedOutcome
{
    public RunStatus Status;
    public GuestFault Fault;
    public long Retired;
    public ulong FinalRip;

    /// <summary>A host exception thrown by decode, lowering or the interpreter (always a bug).</summary>
    public Exception? HostException;

    /// <summary>A host exception thrown while computing RFLAGS from the final flag thunk.</summary>
    public Exception? FlagsException;

    /// <summary>True when the run reached the stop address without error.</summary>
    public bool Completed => HostException == null && Status == RunStatus.Stopped;

    /// <inheritdoc />
    public override string ToString() =>
        HostException != null ? $"host exception {HostException.GetType().Name}: {HostException.Message}"
        : Status == RunStatus.Exception ? $"{Status}: {Fault}"
        : $"{Status} at rip={FinalRip:x} after {Retired} instructions";
}
