using System.Globalization;
using System.Text.RegularExpressions;

namespace Drk.Guest.Tests;

/// <summary>The guest's workload suite as guest/include/uapi/workloads.h defines it: names in run order, default iterations.</summary>
public static partial class WorkloadSuite
{
    private static readonly Lazy<IReadOnlyList<(string Name, long Iterations)>> entries = new(Read);

    [GeneratedRegex(@"X\(""(?<name>[a-z0-9-]+)"",\s*(?<n>\d+)\)")]
    private static partial Regex Entry();

    /// <summary>Workloads that load a driver module and unload it again.</summary>
    public static readonly IReadOnlyDictionary<string, string> DriverOf = new Dictionary<string, string>
    {
        ["dev-rw"] = "chardev",
        ["ioctl"] = "chardev",
        ["blk-io"] = "ramblk",
        ["loopback"] = "loopback",
        ["compute-module"] = "compute",
    };

    /// <summary>Workloads that use no Drk device, so guest/build/native/NAME runs them on a Linux host.</summary>
    public static readonly IReadOnlyList<string> Native =
        ["null-syscall", "open-close", "pipe", "ctx-switch", "fork-exit", "page-fault", "file-io", "compute-user"];

    /// <summary>The suite in the order <c>run=all</c> runs it, with default iteration counts.</summary>
    public static IReadOnlyList<(string Name, long Iterations)> Entries => entries.Value;

    private static IReadOnlyList<(string Name, long Iterations)> Read()
    {
        var header = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "guest", "include", "uapi", "workloads.h"));
        var list = Entry().Matches(header)
            .Select(m => (m.Groups["name"].Value, long.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture)))
            .ToList();
        if (list.Count == 0)
            throw new InvalidOperationException("no X(\"name\", iterations) entries in guest/include/uapi/workloads.h");
        return list;
    }
}
