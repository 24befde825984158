namespace Drk.Guest.Tests;

/// <summary>Finds executables on PATH, so tests can skip with a reason when a tool is missing.</summary>
public static class ExternalTool
{
    /// <summary>Full path of <paramref name="name"/> on PATH, or null. Cheap: a few file-existence checks.</summary>
    public static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Combine(dir, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>"x not found on PATH" for the first missing tool, or null when all are there.</summary>
    public static string? Missing(params string[] names)
    {
        foreach (var name in names)
        {
            if (Find(name) is null)
                return $"{name} not found on PATH";
        }
        return null;
    }
}
