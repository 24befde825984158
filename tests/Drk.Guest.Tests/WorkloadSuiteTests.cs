using System.Globalization;
using System.Runtime.InteropServices;

namespace Drk.Guest.Tests;

/// <summary>
/// <c>run=all</c> in QEMU: every workload prints its result line, gives back every page and object it used
/// (driver modules included), and its checksum repeats across runs, vCPU counts, modes and the host.
/// </summary>
public sealed class WorkloadSuiteTests(SuiteRuns runs) : IClassFixture<SuiteRuns>
{
    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Run_all_prints_one_result_line_per_workload_in_order_and_powers_off_with_status_0(int cpus)
    {
        var run = await runs.GetAsync(GuestPrerequisites.RequireBoot(), cpus);

        Assert.True(run.GuestStatus == 0, run.Describe());
        var results = ResultLine.ParseAll(run.Serial);
        Assert.Equal(WorkloadSuite.Entries.Select(e => e.Name), results.Select(r => r.Workload));
        Assert.Equal(WorkloadSuite.Entries.Select(e => e.Iterations), results.Select(r => r.Iterations));
        Assert.All(results, r => Assert.True(r.Cycles > 0, $"{r.Workload}: cycles={r.Cycles}"));
        Assert.Contains($"run: {results.Count} of {results.Count} workloads passed", run.Serial);
        Assert.DoesNotContain("OOPS", run.Serial);
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Every_workload_gives_back_every_page_object_thread_and_file_it_used(int cpus)
    {
        var run = await runs.GetAsync(GuestPrerequisites.RequireBoot(), cpus);

        foreach (var (name, _) in WorkloadSuite.Entries)
        {
            var line = Lines(run).SingleOrDefault(l => l.StartsWith($"memcheck workload={name} ", StringComparison.Ordinal));
            Assert.True(line is not null, $"no memcheck line for {name}\n{run.Describe()}");
            Assert.Matches(@"^memcheck workload=[a-z0-9-]+( [a-z_]+=\+0)+ verdict=ok$", line);
        }
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Each_driver_module_loads_serves_its_workload_and_unloads_before_the_leak_check(int cpus)
    {
        var run = await runs.GetAsync(GuestPrerequisites.RequireBoot(), cpus);
        var lines = Lines(run);

        foreach (var (workload, module) in WorkloadSuite.DriverOf)
        {
            var check = lines.FindIndex(l => l.StartsWith($"memcheck workload={workload} ", StringComparison.Ordinal));
            Assert.True(check > 0, $"no memcheck line for {workload}");
            var start = lines.FindLastIndex(check - 1, l => l.StartsWith("memcheck ", StringComparison.Ordinal)) + 1;
            var own = lines[start..check];
            var loaded = own.FindIndex(l => l.StartsWith($"module {module}: loaded", StringComparison.Ordinal));
            var unloaded = own.IndexOf($"module {module}: unloaded");
            var result = own.FindIndex(l => l.StartsWith($"result workload={workload} ", StringComparison.Ordinal));
            Assert.True(loaded >= 0 && unloaded > loaded && result > unloaded,
                        $"{workload}: expected module {module} loaded, unloaded, then the result line:\n{string.Join('\n', own)}");
            Assert.EndsWith("verdict=ok", lines[check]);
        }
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Output_repeats_exactly_from_run_to_run_apart_from_timing(int cpus)
    {
        var build = GuestPrerequisites.RequireBoot();
        var first = await runs.GetAsync(build, cpus, 0);
        var second = await runs.GetAsync(build, cpus, 1);

        Assert.True(second.GuestStatus == 0, second.Describe());
        Assert.Equal(first.Deterministic, second.Deterministic);
    }

    /// <summary>
    /// With a tick every 48 us instead of 10 ms (<c>timer=3000</c>) preemption falls inside the
    /// workloads' system calls, pipes, forks and driver calls where the default tick hardly ever
    /// does; what they print must not change (a race detector, as the selftest's own run is).
    /// </summary>
    [SkippableFact]
    public async Task Under_a_tick_two_hundred_times_as_often_two_vCPUs_print_the_same_as_at_the_default_tick()
    {
        var build = GuestPrerequisites.RequireBoot();
        var fast = await QemuRunner.RunAsync(new QemuOptions(build.KernelPath, build.InitrdPath, "run=all timer=3000", 2, Timeout: SuiteRuns.Timeout));
        var usual = await runs.GetAsync(build, 2);

        Assert.True(fast.GuestStatus == 0, fast.Describe());
        Assert.Equal(usual.Deterministic, fast.Deterministic);
        // The option took effect: many times the ticks for the same work.
        Assert.True(TicksOf(fast) > 10 * TicksOf(usual), $"{TicksOf(fast)} ticks at timer=3000, {TicksOf(usual)} at the default");
    }

    private static long TicksOf(QemuRun run)
    {
        var ticks = SerialOutput.InitTicks(run.Serial);
        Assert.True(ticks is not null, run.Describe());
        return ticks.Value;
    }

    [SkippableFact]
    public async Task Checksums_do_not_depend_on_the_number_of_vCPUs()
    {
        var build = GuestPrerequisites.RequireBoot();
        var one = ResultLine.ParseAll((await runs.GetAsync(build, 1)).Serial);
        var two = ResultLine.ParseAll((await runs.GetAsync(build, 2)).Serial);

        Assert.Equal(one.Select(r => (r.Workload, r.Checksum)), two.Select(r => (r.Workload, r.Checksum)));
    }

    [SkippableFact]
    public async Task The_compute_kernel_gives_one_checksum_in_user_and_in_kernel_mode()
    {
        var results = ResultLine.ParseAll((await runs.GetAsync(GuestPrerequisites.RequireBoot(), 1)).Serial);

        var user = results.Single(r => r.Workload == "compute-user");
        var module = results.Single(r => r.Workload == "compute-module");
        Assert.Equal(user.Iterations, module.Iterations);
        Assert.Equal(user.Checksum, module.Checksum);
    }

    [SkippableFact]
    public async Task Host_builds_of_the_device_free_workloads_print_the_guest_checksums()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && RuntimeInformation.OSArchitecture == Architecture.X64,
                   "the native builds are static Linux x86-64 programs");
        var build = GuestPrerequisites.RequireBoot();
        var guest = ResultLine.ParseAll((await runs.GetAsync(build, 1)).Serial).ToDictionary(r => r.Workload);

        foreach (var name in WorkloadSuite.Native)
        {
            var program = Path.Combine(RepositoryRoot.Path, "guest", "build", "native", name);
            var iterations = guest[name].Iterations.ToString(CultureInfo.InvariantCulture);
            var native = await ProcessRunner.RunAsync(program, [$"iterations={iterations}"], TimeSpan.FromMinutes(1));
            Assert.True(native.ExitCode == 0 && !native.TimedOut, $"{name}: exit {native.ExitCode}\n{native.StandardOutput}{native.StandardError}");
            var result = Assert.Single(ResultLine.ParseAll(native.StandardOutput.Replace("\r\n", "\n", StringComparison.Ordinal)));
            Assert.Equal((name, guest[name].Iterations, guest[name].Checksum), (result.Workload, result.Iterations, result.Checksum));
        }
    }

    private static List<string> Lines(QemuRun run) => run.Serial.Split('\n').ToList();
}
