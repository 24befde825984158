namespace Drk.Dispatcher.Tools;

/// <summary>The command-line spellings of <see cref="InstrumentationScope"/>.</summary>
public static class InstrumentationScopeNames
{
    /// <summary>Every accepted spelling, for help texts and error messages.</summary>
    public const string All = "kernel, kernel+modules, modules";

    /// <summary>Parses <c>kernel</c>, <c>kernel+modules</c> or <c>modules</c>.</summary>
    public static bool TryParse(string text, out InstrumentationScope scope)
    {
        switch (text)
        {
            case "kernel": scope = InstrumentationScope.Kernel; return true;
            case "kernel+modules": scope = InstrumentationScope.KernelAndModules; return true;
            case "modules": scope = InstrumentationScope.Modules; return true;
            default: scope = default; return false;
        }
    }

    /// <summary>The spelling of <paramref name="scope"/>.</summary>
    public static string Name(InstrumentationScope scope) => scope switch
    {
        InstrumentationScope.Kernel => "kernel",
        InstrumentationScope.Modules => "modules",
        _ => "kernel+modules",
    };

    /// <summary>True when code of <paramref name="region"/> is instrumented under <paramref name="scope"/>.</summary>
    public static bool Covers(InstrumentationScope scope, CodeRegion region) => scope switch
    {
        InstrumentationScope.Kernel => region == CodeRegion.Kernel,
        InstrumentationScope.Modules => region == CodeRegion.Module,
        _ => true,
    };
}
