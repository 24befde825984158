using System.Reflection;
using System.Text.RegularExpressions;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tools;
using Drk.Guest.Tests;
using Drk.Hv;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// The example tool of docs/writing-a-tool.md, loaded by <c>drk run --tool PATH.dll</c> as a user
/// would load theirs, on <c>selftest</c>: its table is the same on every tier, splits exactly
/// by scope, has a positive row for every module whose code ran, and equals what a clean call
/// per store counts in the same run.
/// </summary>
public sealed partial class MemWritesExampleTests
{
    /// <summary>Built with the solution (and with this project, which references it in Release).</summary>
    private static string ToolDll =>
        Path.Combine(RepositoryRoot.Path, "examples", "memwrites", "bin", "Release", "net10.0", "Drk.Examples.MemWrites.dll");

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    // The interpreter under the default scope: the reference the other runs are compared with.
    private static readonly Lazy<Task<ProcessResult>> Reference = new(() => RunAsync("interp", "kernel+modules"));

    [GeneratedRegex(@"^memwrites: (\S+) +(\d+)$", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    [GeneratedRegex(@"^module (\S+): loaded ", RegexOptions.Multiline)]
    private static partial Regex ModuleLoadedLine();

    [GeneratedRegex(@"^instructions: (\d+)$", RegexOptions.Multiline)]
    private static partial Regex InstructionsLine();

    [SkippableFact]
    public async Task The_table_is_identical_on_the_interpreter_and_the_jit()
    {
        GuestPrerequisites.RequireBuild();
        var interp = await Reference.Value;
        var jit = await RunAsync("jit", "kernel+modules");

        Assert.Equal(interp.StandardOutput, jit.StandardOutput);
        Assert.Equal(Instructions(interp), Instructions(jit));
        Assert.Equal(Table(interp), Table(jit));
    }

    [SkippableFact]
    public async Task Every_module_that_ran_wrote_and_one_whose_init_only_returns_wrote_nothing()
    {
        GuestPrerequisites.RequireBuild();
        var run = await Reference.Value;
        var table = Table(run);

        Assert.Equal("kernel", table[0].Name);
        Assert.True(table[0].Writes > 0, DrkCli.Describe(run));
        var loaded = ModuleLoadedLine().Matches(run.StandardOutput).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.True(loaded.Count >= 3, $"selftest loads several modules:\n{run.StandardOutput}");
        foreach (var module in loaded)
        {
            // A loaded module ran its init_module, and each one's init calls the kernel: the CALL's push is a write.
            var row = Assert.Single(table, r => r.Name == module);
            Assert.True(row.Writes > 0, $"module {module} ran but no write was counted\n{DrkCli.Describe(run)}");
        }
        // guest/modules/bad_init.c: its init is `return -EIO;`, a leaf without a frame: no store at all.
        Assert.Equal(0, Assert.Single(table, r => r.Name == "bad_init").Writes);
    }

    [SkippableFact]
    public async Task The_scopes_split_the_counts_exactly()
    {
        GuestPrerequisites.RequireBuild();
        var all = await Reference.Value;
        var kernelOnly = await RunAsync("interp", "kernel");
        var modulesOnly = await RunAsync("interp", "modules");

        var reference = Table(all);
        Assert.True(reference.Count >= 4, DrkCli.Describe(all));
        foreach (var run in new[] { kernelOnly, modulesOnly })
        {
            // Tools never change the guest: same output, same instructions, whatever is instrumented.
            Assert.Equal(all.StandardOutput, run.StandardOutput);
            Assert.Equal(Instructions(all), Instructions(run));
        }
        var kernelRows = Table(kernelOnly);
        var moduleRows = Table(modulesOnly);
        Assert.Equal(reference.Select(r => r.Name), kernelRows.Select(r => r.Name));
        Assert.Equal(reference.Select(r => r.Name), moduleRows.Select(r => r.Name));
        for (int i = 0; i < reference.Count; i++)
        {
            bool isKernel = reference[i].Name == "kernel";
            Assert.Equal(isKernel ? reference[i].Writes : 0, kernelRows[i].Writes);
            Assert.Equal(isKernel ? 0 : reference[i].Writes, moduleRows[i].Writes);
        }
    }

    [SkippableFact]
    public void The_inline_counts_equal_a_clean_call_per_store_in_the_same_compiled_run()
    {
        var images = GuestImages.Require();
        Assert.True(File.Exists(ToolDll), $"{ToolDll} is missing: build Drk.sln (or this test project) in Release");
        // Loaded as drk loads it; its Drk.Dispatcher reference binds to the one this process has.
        var memwrites = (ITool)Activator.CreateInstance(Assembly.LoadFrom(ToolDll).GetType("Drk.Examples.MemWrites.MemWritesTool", throwOnError: true)!)!;
        var oracle = new CleanCallStoreCounter();
        var run = InProcessRun.Run(images, "selftest", 1, ExecutionTier.Jit, [memwrites, oracle], InstrumentationScope.KernelAndModules, "selftest, memwrites + storecalls, jit");

        Assert.True(run.Result.Reason == MachineStopReason.DebugExit && run.Result.ExitStatus == 0, run.Describe());
        var inline = TableRow().Matches(run.ToolOutput).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value));
        var called = oracle.Writes();
        Assert.True(inline.Count >= 4 && inline["kernel"] > 0, run.Describe());
        foreach (var (row, writes) in inline)
            Assert.True(writes == called.GetValueOrDefault(row), $"{row}: memwrites {writes}, clean calls {called.GetValueOrDefault(row)}\n{run.Describe()}");
        foreach (var row in called.Keys) Assert.True(inline.ContainsKey(row), $"memwrites has no row {row}\n{run.Describe()}");
    }

    private static async Task<ProcessResult> RunAsync(string tier, string scope)
    {
        var build = GuestPrerequisites.RequireBuild();
        Assert.True(File.Exists(ToolDll), $"{ToolDll} is missing: build Drk.sln (or this test project) in Release");
        var result = await DrkCli.RunAsync(
            ["run", build.KernelPath, "--initrd", build.InitrdPath, "--append", "selftest", "--tier", tier, "--scope", scope, "--tool", ToolDll, "--stats"],
            Timeout);
        Assert.True(result.ExitCode == 0, DrkCli.Describe(result));
        return result;
    }

    private static List<(string Name, long Writes)> Table(ProcessResult run)
    {
        var rows = TableRow().Matches(run.StandardError).Select(m => (m.Groups[1].Value, long.Parse(m.Groups[2].Value))).ToList();
        Assert.True(rows.Count > 0, $"no memwrites table\n{DrkCli.Describe(run)}");
        return rows;
    }

    private static string Instructions(ProcessResult run)
    {
        var match = InstructionsLine().Match(run.StandardError);
        Assert.True(match.Success, DrkCli.Describe(run));
        return match.Groups[1].Value;
    }
}
