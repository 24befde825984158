namespace Drk.Dispatcher.Tools;

/// <summary>Whose code a kernel block is: the kernel's own, or a loaded module's.</summary>
public enum CodeRegion
{
    /// <summary>Kernel code (anything at CPL 0 outside a loaded module's text).</summary>
    Kernel,

    /// <summary>The text of a loaded module.</summary>
    Module,
}
