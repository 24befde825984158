using Drk.Experiments.Engines;

namespace Drk.Experiments.Figures;

/// <summary>Runs gnuplot on written scripts. Without gnuplot the scripts and data stay, and the caller says how to install it.</summary>
public sealed class GnuplotRenderer(string gnuplot = "gnuplot")
{
    public const string InstallHint = "apt-get install gnuplot-nox";

    /// <summary>Whether gnuplot is on PATH.</summary>
    public bool Available => ExecutableSearch.Find(gnuplot) is not null;

    /// <summary>Renders one script in its own folder; returns null on success, else gnuplot's complaint.</summary>
    public async Task<string?> RenderAsync(string script, CancellationToken cancellation)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(script))!;
        var result = await ChildProcess.RunAsync(gnuplot, [Path.GetFileName(script)], TimeSpan.FromMinutes(2), cancellation, dir)
            .ConfigureAwait(false);
        if (result.StartError is not null) return result.StartError;
        if (result.ExitCode == 0) return null;
        var why = result.Stderr.LastOrDefault(l => l.Trim().Length > 0)?.Trim() ?? $"exit code {result.ExitCode}";
        return $"gnuplot failed on {Path.GetFileName(script)}: {why}";
    }
}
