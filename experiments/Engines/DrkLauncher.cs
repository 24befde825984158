namespace Drk.Experiments.Engines;

/// <summary>How to start the <c>drk</c> command: a program and the arguments that precede the verb
/// (e.g. <c>dotnet /path/drk.dll</c>).</summary>
public sealed record DrkLauncher(string FileName, IReadOnlyList<string> PrefixArguments)
{
    /// <summary>The launcher for the <c>drk</c> that is running now, so runs use the very build that was asked.</summary>
    public static DrkLauncher ForCurrentProcess(string entryAssemblyPath)
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var isDotnetHost = Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        return isDotnetHost ? new DrkLauncher(host, [entryAssemblyPath]) : new DrkLauncher(host, []);
    }

    public override string ToString() => string.Join(' ', [FileName, .. PrefixArguments]);
}
