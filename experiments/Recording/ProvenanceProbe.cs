using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Drk.Experiments.Engines;

namespace Drk.Experiments.Recording;

/// <summary>Gathers what makes results reproducible: git commit and dirtiness, machine, .NET, QEMU and gnuplot versions.</summary>
/// <remarks>Changes inside the results folder itself do not make the checkout dirty: resuming committed results
/// appends to a tracked journal, and replacing them deletes tracked files, neither of which changes what runs.</remarks>
public static class ProvenanceProbe
{
    private static readonly TimeSpan ProbeLimit = TimeSpan.FromSeconds(20);

    public static async Task<InvocationRecord> CaptureAsync(
        string experiment, string specPath, string command, int jobs, string? chunk, CancellationToken cancellation, string? outputDirectory = null)
    {
        var specDir = Path.GetDirectoryName(Path.GetFullPath(specPath)) ?? ".";
        var commit = await FirstLine("git", ["-C", specDir, "rev-parse", "HEAD"], cancellation).ConfigureAwait(false);
        bool? dirty = null;
        if (commit is not null)
        {
            var status = await ChildProcess.RunAsync("git", ["-C", specDir, "status", "--porcelain", "--untracked-files=no"], ProbeLimit, cancellation)
                .ConfigureAwait(false);
            var top = await FirstLine("git", ["-C", specDir, "rev-parse", "--show-toplevel"], cancellation).ConfigureAwait(false);
            if (status.ExitCode == 0 && top is not null)
                dirty = status.Stdout.Any(l => l.Trim().Length > 0 && !IsInside(ChangedPath(top, l), outputDirectory));
        }
        var programs = new Dictionary<string, string>();
        foreach (var (name, args) in new[] { ("qemu-system-x86_64", new[] { "--version" }), ("gnuplot", ["--version"]) })
        {
            if (ExecutableSearch.Find(name) is null) continue;
            if (await FirstLine(name, args, cancellation).ConfigureAwait(false) is { } version) programs[name] = version;
        }
        var started = DateTimeOffset.UtcNow;
        return new InvocationRecord
        {
            Id = $"{started:yyyyMMdd'T'HHmmss'Z'}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}",
            Experiment = experiment,
            StartedUtc = started,
            Command = command,
            Spec = specPath,
            SpecSha256 = File.Exists(specPath) ? Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(specPath))) : null,
            Commit = commit,
            Dirty = dirty,
            Machine = MachineInfo.Current(),
            Dotnet = RuntimeInformation.FrameworkDescription,
            Programs = programs,
            Jobs = jobs,
            Chunk = chunk,
        };
    }

    /// <summary>The full path of a <c>git status --porcelain</c> entry (<c>XY path</c>, or <c>XY old -> new</c>), whose paths are relative to the top.</summary>
    internal static string ChangedPath(string top, string porcelainLine)
    {
        var path = porcelainLine.Length > 3 ? porcelainLine[3..] : "";
        var arrow = path.IndexOf(" -> ", StringComparison.Ordinal);
        if (arrow >= 0) path = path[(arrow + 4)..];
        return Path.GetFullPath(Path.Combine(top, path.Trim('"')));
    }

    private static bool IsInside(string path, string? directory)
    {
        if (directory is null) return false;
        var dir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + Path.DirectorySeparatorChar;
        return path.StartsWith(dir, StringComparison.Ordinal);
    }

    private static async Task<string?> FirstLine(string program, string[] args, CancellationToken cancellation)
    {
        if (ExecutableSearch.Find(program) is null) return null;
        var result = await ChildProcess.RunAsync(program, args, ProbeLimit, cancellation).ConfigureAwait(false);
        return result.ExitCode == 0 ? result.Stdout.FirstOrDefault(l => l.Trim().Length > 0)?.Trim() : null;
    }
}
