namespace Drk.Dispatcher.Tools;

/// <summary>
/// One call of a wrapped guest function, from its entry to its return: the arguments as they
/// were at entry, the return address and stack pointer, the return value once it returned, and
/// a slot where the pre-callback leaves data for the post-callback.
/// </summary>
public sealed class WrappedCall
{
    private readonly ulong[] _arguments = new ulong[6];

    internal WrappedCall(string function, ToolVcpu vcpu, ulong entryRsp, ulong returnAddress)
    {
        Function = function;
        Vcpu = vcpu;
        EntryRsp = entryRsp;
        ReturnAddress = returnAddress;
        for (int i = 0; i < _arguments.Length; i++) _arguments[i] = vcpu.Argument(i);
    }

    /// <summary>The wrapped function's symbol.</summary>
    public string Function { get; }

    /// <summary>The vCPU making the call.</summary>
    public ToolVcpu Vcpu { get; }

    /// <summary>Integer argument <paramref name="index"/> (0-5) as it was at entry.</summary>
    public ulong Argument(int index) => _arguments[index];

    /// <summary>RSP at entry (pointing at the return address).</summary>
    public ulong EntryRsp { get; }

    /// <summary>Where the function returns to (the instruction after the call).</summary>
    public ulong ReturnAddress { get; }

    /// <summary>RAX at return; 0 in the pre-callback.</summary>
    public ulong ReturnValue { get; internal set; }

    /// <summary>True in the post-callback.</summary>
    public bool HasReturned { get; internal set; }

    /// <summary>Anything the pre-callback wants the post-callback to have.</summary>
    public object? UserData { get; set; }
}
