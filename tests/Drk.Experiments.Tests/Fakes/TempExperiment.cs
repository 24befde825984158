namespace Drk.Experiments.Tests.Fakes;

/// <summary>
/// A throw-away repository layout for a test: <c>experiments/</c> for specs, <c>guest/build/</c> with stand-in
/// kernel and initrd files (the fake engine never reads them), and <c>results/</c>. Deleted on dispose.
/// </summary>
internal sealed class TempExperiment : IDisposable
{
    public TempExperiment()
    {
        Root = Path.Combine(Path.GetTempPath(), "drk-experiments-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(Root, "experiments"));
        Directory.CreateDirectory(Path.Combine(Root, "guest", "build"));
        File.WriteAllText(Path.Combine(Root, "guest", "build", "kernel.elf"), "not really a kernel");
        File.WriteAllText(Path.Combine(Root, "guest", "build", "initrd"), "not really an initrd");
    }

    public string Root { get; }

    public string Results(string name) => Path.Combine(Root, "results", name);

    /// <summary>Writes a spec into <c>experiments/</c> and returns its path.</summary>
    public string WriteSpec(string name, string yaml)
    {
        var path = Path.Combine(Root, "experiments", name + ".yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Copies a shipped spec from the repository's <c>experiments/</c>.</summary>
    public string CopyShippedSpec(string name)
    {
        var path = Path.Combine(Root, "experiments", name + ".yaml");
        File.Copy(Path.Combine(RepositoryRoot, "experiments", name + ".yaml"), path);
        return path;
    }

    /// <summary>The real repository (found by walking up to Drk.sln), for shipped specs and the guest build.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Drk.sln"))) return dir.FullName;
            throw new InvalidOperationException("Drk.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
