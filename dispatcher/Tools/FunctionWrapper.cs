using Drk.Dispatcher.IR;
using Iced.Intel;

namespace Drk.Dispatcher.Tools;

/// <summary>
/// Wraps guest functions by address: a clean call at the entry runs the pre-callbacks and
/// remembers the call; a clean call before each RET inside the function's body runs the
/// post-callbacks of the call whose entry RSP the RET pops from.
/// </summary>
/// <remarks>
/// Instrumenting the function's own RETs (its size comes from the symbol table) needs no
/// knowledge of call sites, so nothing already translated has to be flushed when a new caller
/// appears. Calls waiting for their return are keyed by their entry RSP, not kept as a stack per
/// vCPU: kernel threads switch stacks on one vCPU (and may resume on another) while inside a
/// wrapped function, so returns need not nest. A call left without returning (the guest unwound
/// past it) is replaced by the next wrapped call whose entry RSP is the same.
/// </remarks>
internal sealed class FunctionWrapper
{
    private sealed class Target(GuestFunction function)
    {
        public readonly GuestFunction Function = function;
        public readonly List<WrapCallback> Pre = new();
        public readonly List<WrapCallback> Post = new();
    }

    private readonly Dictionary<ulong, Target> _byEntry = new();
    private readonly Dictionary<ulong, (ulong Entry, WrappedCall Call)> _pendingByRsp = new();
    private readonly List<Target> _targets = new();
    private readonly ulong _entryCall;
    private readonly ulong _returnCall;

    public FunctionWrapper(ToolHost host)
    {
        _entryCall = host.CleanCalls.Register((a, _, _, _) => OnEntry(host.Current!, a));
        _returnCall = host.CleanCalls.Register((a, _, _, _) => OnReturn(host.Current!, a));
    }

    /// <summary>True when some function is wrapped.</summary>
    public bool Any => _targets.Count > 0;

    public void Wrap(GuestFunction function, WrapCallback? pre, WrapCallback? post)
    {
        if (!_byEntry.TryGetValue(function.Address, out var target))
        {
            target = new Target(function);
            _byEntry[function.Address] = target;
            _targets.Add(target);
        }
        if (pre is not null) target.Pre.Add(pre);
        if (post is not null) target.Post.Add(post);
    }

    /// <summary>Inserts the entry and return clean calls into a block that holds a wrapped entry or RET.</summary>
    public void Instrument(InstrumentedBlock block)
    {
        foreach (var insn in block.Instructions)
        {
            if (_byEntry.ContainsKey(insn.Rip))
            {
                var ir = block.InsertBefore(insn);
                ir.CleanCall(_entryCall, ir.Const64(insn.Rip), IrValue.None, IrValue.None, IrValue.None);
            }
            if (insn.Mnemonic == Mnemonic.Ret && HasPostIn(insn.Rip, out ulong entry))
            {
                var ir = block.InsertBefore(insn);
                ir.CleanCall(_returnCall, ir.Const64(entry), IrValue.None, IrValue.None, IrValue.None);
            }
        }
    }

    private bool HasPostIn(ulong rip, out ulong entry)
    {
        foreach (var t in _targets)
        {
            if (t.Post.Count == 0 || rip - t.Function.Address >= t.Function.Size) continue;
            entry = t.Function.Address;
            return true;
        }
        entry = 0;
        return false;
    }

    private void OnEntry(ToolVcpu vcpu, ulong entry)
    {
        var target = _byEntry[entry];
        ulong rsp = vcpu.Rsp;
        vcpu.TryReadUInt64(rsp, out ulong returnAddress);
        var call = new WrappedCall(target.Function.Name, vcpu, rsp, returnAddress);
        foreach (var pre in target.Pre) pre(call);
        if (target.Post.Count > 0) _pendingByRsp[rsp] = (entry, call);
    }

    private void OnReturn(ToolVcpu vcpu, ulong entry)
    {
        // The RET pops the return address the call pushed: RSP is back at the entry RSP.
        if (!_pendingByRsp.TryGetValue(vcpu.Rsp, out var pending) || pending.Entry != entry) return;
        _pendingByRsp.Remove(vcpu.Rsp);
        var call = pending.Call;
        call.ReturnValue = vcpu.Rax;
        call.HasReturned = true;
        foreach (var post in _byEntry[entry].Post) post(call);
    }
}
