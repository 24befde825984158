using System.ComponentModel;
using System.Diagnostics;

namespace Drk.Experiments.Engines;

/// <summary>
/// Runs an engine process with a time limit, capturing its output line by line and timing it with a monotonic
/// clock. Standard input is closed so that a guest console never waits for a keyboard.
/// </summary>
public static class ChildProcess
{
    /// <summary>Lines kept per stream; a runaway guest printing forever must not exhaust host memory.</summary>
    public const int MaxLines = 200_000;

    public static async Task<ProcessResult> RunAsync(
        string fileName, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellation, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory ?? "",
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);

        var stdout = new List<string>();
        var stderr = new List<string>();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => Collect(stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Collect(stderr, e.Data);

        var cpu = ChildCpuClock.Start();
        var clock = Stopwatch.StartNew();
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            ChildCpuClock.Stop(cpu);
            return new ProcessResult(null, false, 0, [], [], $"cannot start {fileName}: {e.Message}");
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        limit.CancelAfter(timeout);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited between the time-out and the kill.
            }
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            cancellation.ThrowIfCancellationRequested();
            timedOut = true;
        }
        var wall = clock.Elapsed.TotalSeconds;
        var cpuSeconds = ChildCpuClock.Stop(cpu);
        lock (stdout) lock (stderr)
            return new ProcessResult(timedOut ? null : process.ExitCode, timedOut, wall, stdout.ToList(), stderr.ToList(), null, cpuSeconds);
    }

    private static void Collect(List<string> lines, string? line)
    {
        if (line is null) return;
        lock (lines)
        {
            if (lines.Count < MaxLines) lines.Add(line.TrimEnd('\r'));
        }
    }
}
