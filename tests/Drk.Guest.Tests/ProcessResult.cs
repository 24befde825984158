namespace Drk.Guest.Tests;

/// <summary>What a finished (or killed) child process left behind.</summary>
/// <param name="ExitCode">The exit code; meaningless when <paramref name="TimedOut"/> is set.</param>
/// <param name="StandardOutput">Everything written to stdout.</param>
/// <param name="StandardError">Everything written to stderr.</param>
/// <param name="TimedOut">The process outlived its timeout and was killed with its children.</param>
/// <param name="Elapsed">Wall time from start to exit.</param>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError, bool TimedOut, TimeSpan Elapsed);
