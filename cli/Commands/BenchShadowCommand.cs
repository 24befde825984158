using System.CommandLine;
using System.Globalization;
using Drk.Cli.Bench;

namespace Drk.Cli.Commands;

/// <summary>
/// <c>drk bench shadow</c>: nanoseconds per shadow-memory call as tool instrumentation makes them
/// (Check, CheckAllowed, GetPacked, SetPacked on 1..8 bytes, both widths), bytes allocated by
/// them (must be 0), and the speed of the bulk operations.
/// </summary>
internal static class BenchShadowCommand
{
    public static Command Create()
    {
        var calls = new Option<long>("--calls", "-n") { Description = "Calls per timed per-access run", DefaultValueFactory = _ => 100_000_000 };
        var repeat = new Option<int>("--repeat", "-r") { Description = "Timed runs; the report gives the median of each case", DefaultValueFactory = _ => 3 };
        var machine = new Option<bool>("--machine-readable") { Description = "Print one 'key value' line per figure instead of the table" };
        var command = new Command("shadow", "Tool shadow memory: ns per per-access check, allocation, bulk set/check/copy speed");
        command.Options.Add(calls);
        command.Options.Add(repeat);
        command.Options.Add(machine);
        command.SetAction(parse =>
        {
            long n = parse.GetValue(calls);
            int runs = parse.GetValue(repeat);
            if (n < 1 || runs < 1)
            {
                Console.Error.WriteLine("drk bench shadow: --calls and --repeat must be at least 1");
                return 2;
            }
            bool machineReadable = parse.GetValue(machine);
            var c = CultureInfo.InvariantCulture;
            var bench = new ShadowBenchmark();
            var rounds = new List<List<ShadowBenchmark.AccessResult>>();
            for (int i = 0; i < runs; i++)
            {
                rounds.Add(bench.RunAccesses(n));
                if (!machineReadable) Console.WriteLine($"run {i + 1} of {runs} done");
            }
            var bulk = bench.RunBulk();
            bool allocates = false;
            if (!machineReadable)
            {
                var (eight, two) = bench.Statistics;
                Console.WriteLine();
                Console.WriteLine(string.Create(c, $"shadow of 256 MiB, 16 MiB materialised: 8-bit {eight.HostBytes / 1048576.0:F1} MiB host, 2-bit {two.HostBytes / 1048576.0:F1} MiB host"));
                Console.WriteLine(string.Create(c, $"per-access calls (thread CPU time per call), median of {runs} run(s) of {n:N0} calls, random addresses in one 64 KiB chunk unless stated:"));
            }
            for (int k = 0; k < rounds[0].Count; k++)
            {
                var median = rounds.Select(r => r[k]).OrderBy(r => r.NsPerCall).ElementAt(runs / 2);
                allocates |= median.AllocatedBytes != 0;
                if (machineReadable)
                {
                    Console.WriteLine(string.Create(c, $"shadow_{median.Key}_ns {median.NsPerCall:F2}"));
                    Console.WriteLine(string.Create(c, $"shadow_{median.Key}_net_ns {median.NetNsPerCall:F2}"));
                    Console.WriteLine(string.Create(c, $"shadow_{median.Key}_wall_ns {median.WallNsPerCall:F2}"));
                    Console.WriteLine(string.Create(c, $"shadow_{median.Key}_allocated_bytes {median.AllocatedBytes}"));
                }
                else
                {
                    Console.WriteLine(string.Create(c, $"  {median.Description,-62} {median.NsPerCall,6:F2} ns  (net {median.NetNsPerCall,5:F2} ns, wall {median.WallNsPerCall,5:F2} ns){(median.AllocatedBytes != 0 ? $"  ALLOCATES {median.AllocatedBytes} B" : "")}"));
                }
            }
            if (!machineReadable) Console.WriteLine("bulk (thread CPU time):");
            foreach (var b in bulk)
                Console.WriteLine(machineReadable
                    ? string.Create(c, $"shadow_{b.Key} {b.Value:F2}")
                    : string.Create(c, $"  {b.Description,-62} {b.Value,8:F2} {b.Unit}"));
            if (allocates && !machineReadable) Console.WriteLine("FAIL: a per-access call allocates; it must not.");
            return allocates ? 1 : 0;
        });
        return command;
    }
}
