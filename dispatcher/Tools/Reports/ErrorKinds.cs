namespace Drk.Dispatcher.Tools.Reports;

/// <summary>
/// The spellings of <see cref="ErrorReport.Kind"/> shared by Drk's tools, so reports of
/// different tools fold, count and filter alike. Tools may use other lowercase-hyphenated kinds.
/// </summary>
public static class ErrorKinds
{
    /// <summary>An access to a freed block (memcheck).</summary>
    public const string UseAfterFree = "use-after-free";

    /// <summary>An access outside any allocated block, e.g. past the end of a kmalloc'd one (memcheck).</summary>
    public const string OutOfBounds = "out-of-bounds";

    /// <summary>A use of a value that was never written (memcheck definedness).</summary>
    public const string UninitialisedRead = "uninitialised-read";

    /// <summary>A second free of the same block.</summary>
    public const string DoubleFree = "double-free";

    /// <summary>A free of an address that is not the start of an allocated block.</summary>
    public const string InvalidFree = "invalid-free";

    /// <summary>A block still allocated, and unreachable, at the end of the run.</summary>
    public const string Leak = "leak";

    /// <summary>A module touched memory it has no right to (BGI).</summary>
    public const string IsolationViolation = "isolation-violation";

    /// <summary>A control transfer to a target the policy forbids (CFI).</summary>
    public const string CfiViolation = "cfi-violation";
}
