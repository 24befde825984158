using Drk.Dispatcher.Jit;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// A hot path of fragments (DynamoRIO's NET: the next executing tail after a hot trace head),
/// compiled by the JIT tier into one method whose internal exits jump from block to block and
/// whose back-edge to the head stays inside the method.
/// </summary>
/// <remarks>
/// The trace is built from its fragments' IR exactly as they run alone (tool instrumentation
/// included), so every guest instruction is seen once in every tier. It dies with any of its
/// fragments: <see cref="Fragment.Invalidate"/> calls <see cref="Invalidate"/>, which also tells
/// code running right now to leave at its next block boundary.
/// </remarks>
public sealed class Trace
{
    internal Trace(Fragment[] fragments) : this(fragments, [])
    {
    }

    /// <param name="fragments">The blocks; the first is the head.</param>
    /// <param name="joinedHeads">Blocks (by index) where other traces joined to this one start: indirect exits compare their target with these as well (<see cref="JoinedHeads"/>).</param>
    internal Trace(Fragment[] fragments, int[] joinedHeads)
    {
        Fragments = fragments;
        JoinedHeads = joinedHeads;
        var linear = new List<ulong>();
        var physical = new List<ulong>();
        for (int k = 0; k < fragments.Length; k++)
        {
            var f = fragments[k];
            f.JoinTrace(this, k);
            AddPage(linear, physical, f.Rip & PageMask, f.FirstPage);
            if (f.SpansTwoPages) AddPage(linear, physical, f.SecondLinearPage, f.SecondPage);
        }
        LinearPages = linear.ToArray();
        PhysicalPages = physical.ToArray();
    }

    private const ulong PageMask = ~0xFFFUL;

    private static void AddPage(List<ulong> linear, List<ulong> physical, ulong linearPage, ulong physicalPage)
    {
        if (linear.Contains(linearPage)) return;
        linear.Add(linearPage);
        physical.Add(physicalPage);
    }

    /// <summary>
    /// The linear pages the trace's code lies on, and the physical page each translated to when
    /// the trace was recorded. Jumps inside the trace skip the per-block translation, so the
    /// dispatcher checks these at every entry (nothing inside a trace can change a translation:
    /// only system instructions that change no translation join one, see TraceSafeSystemOps).
    /// </summary>
    internal ulong[] LinearPages { get; }

    /// <summary>See <see cref="LinearPages"/>.</summary>
    internal ulong[] PhysicalPages { get; }

    /// <summary>The MMU's translation generation at which every page above last translated as recorded (0: never); see <see cref="Fragment.CheckedGeneration"/>.</summary>
    internal ulong CheckedGeneration;

    /// <summary>The fragments in path order; the first is the head.</summary>
    public Fragment[] Fragments { get; }

    /// <summary>
    /// The blocks (by index) where the heads of the traces joined into this one stand (see
    /// <c>VcpuDispatcher.RequestJoin</c>), and blocks that chains from the trace to itself entered: an
    /// indirect exit of any block compares its target with these, as it does with the next
    /// block's and the head's, so the branch that went from one joined trace to another is a jump
    /// inside the method. Empty for a recorded trace.
    /// </summary>
    internal int[] JoinedHeads { get; }

    /// <summary>
    /// Makes this trace the one of its head, and the one its later blocks run in when they have
    /// none of their own and the trace they were a member of died (always, for the heads of the
    /// traces joined into it): called when it replaces the traces it was joined from.
    /// </summary>
    internal void Adopt()
    {
        Head.Trace = this;
        for (int k = 1; k < Fragments.Length; k++) Fragments[k].AdoptAsMember(this, k, force: Array.IndexOf(JoinedHeads, k) >= 0);
    }

    /// <summary>The trace head.</summary>
    public Fragment Head => Fragments[0];

    /// <summary>False once one of its fragments was dropped.</summary>
    public bool IsValid { get; private set; } = true;

    /// <summary>The compiled code once the JIT tier published it (read with acquire semantics).</summary>
    internal CompiledBlock? Code;

    /// <summary>Set (release) once the JIT tier is done with the trace, compiled or not: its blocks wait for this before they count towards compiling alone again.</summary>
    internal bool CompileEnded;

    /// <summary>
    /// Guest instructions of this trace's blocks interpreted while it waited to be compiled: the
    /// background compiler takes the trace that costs the vCPU most first (written by the vCPU, read
    /// by the compiler thread; a heuristic, so unsynchronised).
    /// </summary>
    internal int WaitingWork;

    internal void Invalidate()
    {
        IsValid = false;
        var code = Volatile.Read(ref Code);
        if (code is not null) code.TraceValid = false;
        if (ReferenceEquals(Head.Trace, this)) Head.Trace = null;
    }

    /// <inheritdoc />
    public override string ToString() => $"trace {Head.Rip:x16} ({Fragments.Length} blocks)";
}
