namespace Drk.Guest.Tests;

/// <summary>Locates the repository root (the directory holding Drk.sln) from wherever the tests run.</summary>
public static class RepositoryRoot
{
    private static readonly Lazy<string> root = new(Find);

    /// <summary>Absolute path of the repository root; throws if the tests run outside a checkout.</summary>
    public static string Path => root.Value;

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Drk.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no Drk.sln above {AppContext.BaseDirectory}");
    }
}
