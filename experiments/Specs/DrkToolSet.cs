namespace Drk.Experiments.Specs;

/// <summary>
/// The tools a <c>drk</c> build can run, as a spec's <c>tools</c> may name them: the built-in names its
/// <c>--tool</c> accepts, or the path of a .dll with ITool classes, which <see cref="CheckAssembly"/> vets.
/// </summary>
/// <remarks>
/// The <c>drk experiment</c> command builds this from the very catalog <c>drk run --tool</c> uses, so a spec is
/// checked against the build that will run it. <see cref="Shipped"/> is for callers without that catalog (tests,
/// other front ends): the built-in tools as of this writing, and an assembly check that only asks whether the
/// file exists.
/// </remarks>
public sealed class DrkToolSet
{
    private readonly Func<string, string?> _checkAssembly;

    /// <param name="builtIn">Names <c>drk run --tool</c> accepts.</param>
    /// <param name="checkAssembly">Given the full path of an existing .dll: null if <c>drk run --tool</c> can load
    /// tools from it, else why not (one line).</param>
    public DrkToolSet(IReadOnlyList<string> builtIn, Func<string, string?>? checkAssembly = null)
    {
        BuiltIn = builtIn;
        _checkAssembly = checkAssembly ?? (_ => null);
    }

    /// <summary>The built-in tools of the drk that shipped with this runner.</summary>
    public static DrkToolSet Shipped { get; } = new(["null", "inscount"]);

    public IReadOnlyList<string> BuiltIn { get; }

    /// <summary>What a spec may write besides a .dll path: <c>none</c> and the built-in names.</summary>
    public IReadOnlyList<string> Names => [KnownNames.NoTool, .. BuiltIn];

    /// <summary>Whether a spec's tool value is a path to a tool assembly rather than a name.</summary>
    public static bool IsAssemblyPath(string tool) => tool.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);

    /// <summary>Null when tools can be loaded from the existing file <paramref name="fullPath"/>, else why not.</summary>
    public string? CheckAssembly(string fullPath) => _checkAssembly(fullPath);
}
