using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Drk.Guest.Tests;
using static Iced.Intel.AssemblerRegisters;

namespace Drk.EndToEnd.Tests;

/// <summary>
/// <c>drk run --tool/--scope/--report</c> as a process: bad tool and scope names are usage errors
/// (64) that name the accepted values, <c>--report</c> writes a JSON-lines file, and on the real
/// guest the tools print their lines and inscount's total is the kernel instruction count
/// <c>--stats</c> prints.
/// </summary>
public sealed partial class ToolCliTests
{
    private static readonly string GoodImage = TestElf.WriteTemporary(TestElf.FromCode(a => { a.mov(ecx, 100); a.dec(ecx); a.xor(eax, eax); a.@out(0xf4, eax); }), "tool-exit0.elf");

    [GeneratedRegex(@"^kernel-instructions: (\d+)$", RegexOptions.Multiline)]
    private static partial Regex KernelInstructionsLine();

    public static TheoryData<string, string[], string[]> UsageErrors => new()
    {
        { "unknown tool", ["--tool", "nosuch"], ["nosuch", "null", "inscount"] },
        { "unknown tool in a list", ["--tool", "null,nosuch"], ["nosuch", "null", "inscount"] },
        { "a tool twice", ["--tool", "null", "--tool", "null"], ["null"] },
        { "unknown scope", ["--tool", "null", "--scope", "bad"], ["bad", "kernel", "kernel+modules", "modules"] },
        { "scope with a different case", ["--scope", "Kernel"], ["Kernel", "kernel+modules"] },
        { "tool assembly that does not exist", ["--tool", "/nonexistent/tool.dll"], ["/nonexistent/tool.dll"] },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public async Task A_bad_tool_or_scope_is_a_usage_error_naming_what_is_accepted(string what, string[] options, string[] mentioned)
    {
        var r = await DrkCli.RunAsync(["run", GoodImage, .. options]);

        Assert.True(r.ExitCode == 64, $"{what}: expected 64\n{DrkCli.Describe(r)}");
        var lines = r.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"{what}: expected one line on stderr\n{DrkCli.Describe(r)}");
        Assert.StartsWith("drk run: ", lines[0]);
        foreach (var word in mentioned) Assert.Contains(word, lines[0]);
        Assert.Equal("", r.StandardOutput);
    }

    [Fact]
    public async Task A_tool_given_as_an_assembly_path_runs_and_an_assembly_without_tools_is_a_usage_error()
    {
        // The test project references tools/null, so its assembly sits next to the tests'.
        string nullTool = Path.Combine(AppContext.BaseDirectory, "Drk.Tools.Null.dll");
        string noTools = Path.Combine(AppContext.BaseDirectory, "Drk.Hv.dll");

        var r = await DrkCli.RunAsync(["run", GoodImage, "--tool", nullTool, "--stats"]);
        var bad = await DrkCli.RunAsync(["run", GoodImage, "--tool", noTools]);

        Assert.True(r.ExitCode == 0, DrkCli.Describe(r));
        Assert.Contains("null: blocks-translated=", r.StandardError);
        Assert.Contains("tools: null scope=kernel+modules", r.StandardError);
        Assert.True(bad.ExitCode == 64, DrkCli.Describe(bad));
        Assert.Contains("no public ITool class", bad.StandardError);
    }

    [Fact]
    public async Task Report_writes_a_json_lines_file_even_when_no_tool_reports()
    {
        string path = Path.Combine(Path.GetTempPath(), $"drk-report-{Environment.ProcessId}-{Guid.NewGuid():N}.jsonl");
        try
        {
            var r = await DrkCli.RunAsync(["run", GoodImage, "--tool", "null,inscount", "--report", path, "--stats"]);

            Assert.True(r.ExitCode == 0, DrkCli.Describe(r));
            Assert.True(File.Exists(path), $"no report file\n{DrkCli.Describe(r)}");
            foreach (var line in File.ReadAllLines(path).Where(l => l.Length > 0))
                Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(line).RootElement.ValueKind);
            Assert.Contains("null: ", r.StandardError);
            Assert.Contains("inscount: scope=kernel+modules", r.StandardError);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_report_file_that_cannot_be_created_is_an_output_error()
    {
        var r = await DrkCli.RunAsync(["run", GoodImage, "--tool", "null", "--report", "/nonexistent/dir/report.jsonl"]);

        Assert.True(r.ExitCode == 73, DrkCli.Describe(r));
        Assert.StartsWith("drk run: ", r.StandardError);
    }

    [SkippableFact]
    public async Task On_the_guest_inscount_prints_the_kernel_instruction_count_of_stats()
    {
        var build = GuestPrerequisites.RequireBuild();
        var r = await DrkCli.RunAsync(["run", build.KernelPath, "--initrd", build.InitrdPath, "--append", "selftest",
            "--tool", "null,inscount", "--tier", "auto", "--stats"], TimeSpan.FromMinutes(3));

        Assert.True(r.ExitCode == 0, DrkCli.Describe(r));
        var kernel = KernelInstructionsLine().Match(r.StandardError);
        Assert.True(kernel.Success, DrkCli.Describe(r));
        var report = InsCountReport.Parse(r.StandardError);
        Assert.Equal("kernel+modules", report.Scope);
        Assert.Equal(long.Parse(kernel.Groups[1].Value, CultureInfo.InvariantCulture), report.Total);
        Assert.Contains("null: blocks-translated=", r.StandardError);
        Assert.Contains("tools: null,inscount scope=kernel+modules", r.StandardError);
    }
}
