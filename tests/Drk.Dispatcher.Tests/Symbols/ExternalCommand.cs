using System.Diagnostics;

namespace Drk.Dispatcher.Tests.Symbols;

/// <summary>Runs the binutils/gcc programs the symbol tests use as oracles.</summary>
internal static class ExternalCommand
{
    /// <summary>True when <paramref name="program"/> is on PATH.</summary>
    public static bool Exists(string program)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, program)))
                return true;
        return false;
    }

    /// <summary>Skips the calling test unless every program exists.</summary>
    public static void Require(params string[] programs)
    {
        foreach (var program in programs)
            Skip.IfNot(Exists(program), $"{program} is not installed");
    }

    /// <summary>Runs a program to completion and returns its standard output; fails the test on a non-zero exit.</summary>
    public static string Run(string program, IEnumerable<string> arguments, string? standardInput = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            process.StandardInput.Write(standardInput);
            process.StandardInput.Close();
        }
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', info.ArgumentList)} did not finish in 3 minutes");
        }
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', info.ArgumentList)} exited {process.ExitCode}: {error.Result}");
        return output.Result;
    }
}
