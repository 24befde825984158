using System.Reflection;
using Drk.Dispatcher.Tools;
using Drk.Tools.InsCount;
using Drk.Tools.Null;

namespace Drk.Cli.Running;

/// <summary>
/// Finds tools by name for <c>--tool</c>: the built-in ones, or every <see cref="ITool"/> with a
/// public parameterless constructor in an assembly given by path (a user's own tool project).
/// </summary>
internal static class ToolCatalog
{
    private static readonly Func<ITool>[] BuiltIn = [() => new NullTool(), () => new InsCountTool()];

    /// <summary>The built-in tools, freshly made (for listings).</summary>
    public static IEnumerable<ITool> BuiltInTools()
    {
        foreach (var make in BuiltIn) yield return make();
    }

    /// <summary>The names <c>--tool</c> accepts besides assembly paths.</summary>
    public static string Names => string.Join(", ", BuiltInTools().Select(t => t.Name));

    /// <summary>Makes the tools named in <paramref name="specs"/> (comma-separated names or .dll paths); false with a message for an unknown one.</summary>
    public static bool TryCreate(IEnumerable<string> specs, out List<ITool> tools, out string error)
    {
        tools = new List<ITool>();
        error = "";
        foreach (var spec in specs)
        {
            foreach (var raw in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (raw.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
                {
                    if (!TryLoad(raw, tools, out error)) return false;
                    continue;
                }
                var tool = BuiltInTools().FirstOrDefault(t => t.Name == raw);
                if (tool is null)
                {
                    error = $"--tool '{raw}' is not a tool: {Names}, or the path of a .dll holding ITool classes";
                    return false;
                }
                if (tools.Any(t => t.Name == tool.Name))
                {
                    error = $"--tool '{raw}' is given twice";
                    return false;
                }
                tools.Add(tool);
            }
        }
        return true;
    }

    private static bool TryLoad(string path, List<ITool> tools, out string error)
    {
        error = "";
        Assembly assembly;
        try
        {
            assembly = Assembly.LoadFrom(Path.GetFullPath(path));
        }
        catch (Exception e) when (e is IOException or BadImageFormatException or ArgumentException or UnauthorizedAccessException)
        {
            error = $"--tool {path}: cannot load: {e.Message}";
            return false;
        }
        int before = tools.Count;
        foreach (var type in assembly.GetExportedTypes())
        {
            if (type.IsAbstract || !typeof(ITool).IsAssignableFrom(type) || type.GetConstructor(Type.EmptyTypes) is null) continue;
            tools.Add((ITool)Activator.CreateInstance(type)!);
        }
        if (tools.Count > before) return true;
        error = $"--tool {path}: no public ITool class with a parameterless constructor in it";
        return false;
    }
}
