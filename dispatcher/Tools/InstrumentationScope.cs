namespace Drk.Dispatcher.Tools;

/// <summary>
/// Which kernel code tools instrument (<c>--scope</c>). User-mode code is never instrumented by
/// kernel tools, whatever the scope.
/// </summary>
public enum InstrumentationScope
{
    /// <summary>The kernel and every loaded module (<c>kernel+modules</c>, the default).</summary>
    KernelAndModules,

    /// <summary>The kernel only; module code runs uninstrumented (<c>kernel</c>).</summary>
    Kernel,

    /// <summary>Module code only; the kernel runs uninstrumented (<c>modules</c>), the seed paper's "no overhead when running in the kernel".</summary>
    Modules,
}
