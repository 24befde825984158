namespace Drk.Dispatcher.Jit;

/// <summary>Which tier executes guest blocks: the interpreter alone, the JIT for every block, or the interpreter with hot blocks tiered up to the JIT.</summary>
public enum ExecutionTier : byte
{
    /// <summary>Every block is interpreted (tier 0 only).</summary>
    Interpreter,
    /// <summary>Every block is compiled before its first execution, synchronously.</summary>
    Jit,
    /// <summary>Blocks are interpreted until hot, then compiled in the background and swapped in.</summary>
    Auto,
}
