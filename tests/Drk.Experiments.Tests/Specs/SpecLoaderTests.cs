using Drk.Experiments.Matrix;
using Drk.Experiments.Specs;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Specs;

public sealed class SpecLoaderTests : IDisposable
{
    private readonly TempExperiment _repo = new();

    public void Dispose() => _repo.Dispose();

    private const string Guest = """
        guest:
          kernel: ../guest/build/kernel.elf
          initrd: ../guest/build/initrd
        """;

    [Fact]
    public void A_valid_spec_expands_tiers_tools_and_scopes_only_for_drk()
    {
        var path = _repo.WriteSpec("ok", Guest + """

            workloads: [a, {name: b, args: iterations=10}]
            engines: [drk, qemu-tcg]
            tiers: [interp, jit]
            tools: [none, null, inscount]
            scopes: [kernel, modules]
            baseline: {engine: qemu-tcg}
            """);

        var spec = SpecLoader.Load(path);

        // drk: 2 tiers x (none + 2 tools x 2 scopes) = 10; qemu-tcg: 1.
        Assert.Equal(11, spec.Variants.Count);
        Assert.Equal(1, spec.Variants.Count(v => v.Engine == "qemu-tcg" && v.Tier == "" && v.Tool == ""));
        Assert.Equal(2, spec.Variants.Count(v => v.Tool == KnownNames.NoTool && v.Scope == ""));
        Assert.Equal("run=b iterations=10", spec.Workloads[1].CommandLine(""));
        Assert.Equal(Path.Combine(_repo.Root, "guest", "build", "kernel.elf"), spec.Guest.Kernel);
        Assert.Equal(5, spec.Repetitions);
    }

    [Fact]
    public void Defaults_are_one_vcpu_auto_tier_no_tool_and_the_first_variant_as_baseline()
    {
        var spec = SpecLoader.Load(_repo.WriteSpec("defaults", Guest + "\nworkloads: [a]\n"));

        var only = Assert.Single(spec.Variants);
        Assert.Equal(("drk", "auto", "none", "", 1), (only.Engine, only.Tier, only.Tool, only.Scope, only.Vcpus));
        Assert.True(spec.Baseline.Selects(only));
        Assert.Equal("defaults", spec.Name);
    }

    /// <summary>Each broken spec, the line the error must point at, and words the message must contain.</summary>
    public static TheoryData<string, string, int, string> BrokenSpecs => new()
    {
        {
            "unknown tool",
            Guest + "\nworkloads: [a]\ntools:\n  - null\n  - memchek\n",
            7, "unknown tool 'memchek' (this drk knows: none, null, inscount, or the path of a .dll with ITool classes)"
        },
        {
            "tool drk does not have",
            Guest + "\nworkloads: [a]\ntools: [none, memcheck]\n",
            5, "unknown tool 'memcheck' (this drk knows: none, null, inscount,"
        },
        {
            "missing tool assembly",
            Guest + "\nworkloads: [a]\ntools: [none, ../tools/mine/Mine.dll]\n",
            5, "tool assembly '../tools/mine/Mine.dll' not found (looked for "
        },
        {
            "exclude that is not a list",
            Guest + "\nworkloads: [a]\nexclude: {tier: auto}\n",
            5, "'exclude' must be a list of mappings"
        },
        {
            "unknown key in an exclude entry",
            Guest + "\nworkloads: [a]\nexclude:\n  - {tiers: auto}\n",
            6, "unknown key 'tiers' in an exclude entry (allowed: engine, tier, tool, scope, vcpus, workload)"
        },
        {
            "unknown workload in an exclude entry",
            Guest + "\nworkloads: [a, b]\nexclude:\n  - {workload: [b, c]}\n",
            6, "unknown workload 'c' (known: a, b)"
        },
        {
            "exclude entry that matches nothing",
            Guest + "\nworkloads: [a, b]\ntiers: [auto]\nexclude:\n  - {tier: jit}\n",
            7, "this exclude entry matches no cell of the matrix"
        },
        {
            "empty exclude entry",
            Guest + "\nworkloads: [a, b]\nexclude:\n  - {}\n",
            6, "an exclude entry must name at least one of engine, tier, tool, scope, vcpus, workload"
        },
        {
            "exclude that drops a baseline cell",
            Guest + "\nworkloads: [a, b]\ntools: [none, null]\nbaseline: {tool: none}\nexclude:\n  - {tool: none, workload: a}\n",
            8, "this exclude entry leaves out the baseline 'drk auto no tool 1 vCPU' on a, which 'drk auto null [kernel] 1 vCPU' is compared with; exclude both or neither"
        },
        {
            "missing image",
            "guest:\n  kernel: ../guest/build/vmlinux\nworkloads: [a]\n",
            2, "kernel image '../guest/build/vmlinux' not found"
        },
        {
            "unknown key",
            Guest + "\nworkloads: [a]\nrepetition: 3\n",
            5, "unknown key 'repetition' in the spec"
        },
        {
            "wrong type",
            Guest + "\nworkloads: [a]\nrepetitions: five\n",
            5, "'repetitions' must be a whole number, got 'five'"
        },
        {
            "number out of range",
            Guest + "\nworkloads: [a]\nrepetitions: 0\n",
            5, "'repetitions' must be between 1 and 10000, got 0"
        },
        {
            "list where a value belongs",
            Guest + "\nworkloads: [a]\nseed: [1, 2]\n",
            5, "'seed' must be a single value, got a list"
        },
        {
            "not YAML",
            Guest + "\nworkloads: [a\nrepetitions: 3\n",
            5, "not valid YAML"
        },
        {
            "no workloads",
            Guest + "\nrepetitions: 3\n",
            1, "missing required key 'workloads'"
        },
        {
            "duplicate workload",
            Guest + "\nworkloads:\n  - a\n  - a\n",
            6, "workload 'a' is listed twice"
        },
        {
            "bad duration",
            Guest + "\nworkloads: [a]\ntimeout: soon\n",
            5, "'timeout' must be a positive duration like 90s, 5m or 1h, got 'soon'"
        },
        {
            "unknown engine",
            Guest + "\nworkloads: [a]\nengines: [drk, bochs]\n",
            5, "unknown engine 'bochs'"
        },
        {
            "tiers without drk",
            Guest + "\nworkloads: [a]\nengines: [qemu-tcg]\ntiers: [jit]\n",
            6, "'tiers' applies only to the drk engine"
        },
        {
            "baseline matching nothing",
            Guest + "\nworkloads: [a]\ntools: [null, inscount]\nbaseline: {tool: none}\n",
            6, "matches none of the variants"
        },
        {
            "unknown key in a baseline",
            Guest + "\nworkloads: [a]\ntools: [none, null]\nbaseline: {tol: none}\n",
            6, "unknown key 'tol' in baseline (allowed: engine, tier, tool, scope)"
        },
        {
            "figure that hides a varying dimension",
            Guest + "\nworkloads: [a]\ntools: [none, null, inscount]\nscopes: [kernel, modules]\nbaseline: {tool: none}\nfigures:\n  - {kind: slowdown, series: [tool]}\n",
            9, "'scope' varies across its variants but is neither a series nor a panel"
        },
        {
            "unknown figure kind",
            Guest + "\nworkloads: [a]\nfigures:\n  - kind: pie\n",
            6, "unknown figure kind 'pie'"
        },
        {
            "native without a program",
            Guest + "\nworkloads: [a]\nengines: [qemu-tcg, native]\n",
            1, "missing required key 'native-program'"
        },
        {
            "bad memory size",
            "guest:\n  kernel: ../guest/build/kernel.elf\n  memory: lots\nworkloads: [a]\n",
            3, "'memory' must be a size like 256M or 1G, got 'lots'"
        },
    };

    [Theory]
    [MemberData(nameof(BrokenSpecs))]
    public void Broken_specs_are_rejected_with_file_line_and_reason(string name, string yaml, int line, string message)
    {
        var path = _repo.WriteSpec(name.Replace(' ', '-'), yaml);

        var e = Assert.Throws<InvalidSpecException>(() => SpecLoader.Load(path));

        var error = Assert.Single(e.Errors, x => x.Message.Contains(message, StringComparison.Ordinal));
        Assert.Equal(line, error.Line);
        Assert.StartsWith($"{path}:{line}:", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Exclude_leaves_cells_out_and_drops_variants_left_with_none()
    {
        var spec = SpecLoader.Load(_repo.WriteSpec("exclude", Guest + """

            workloads: [a, b, c]
            tiers: [interp, auto]
            tools: [none, null, inscount]
            scopes: [kernel, modules]
            baseline: {tool: none}
            exclude:
              - {tier: interp, workload: [b, c]}
              - {tier: interp, scope: modules}
              - {tool: inscount, scope: kernel, workload: a}
            """));

        // interp: none, null [kernel], inscount [kernel] on a only (inscount [kernel] not even there); auto: everything but inscount [kernel] on a.
        Assert.Equal(2 + 5, spec.Variants.Count);
        Assert.DoesNotContain(spec.Variants, v => v.Tier == "interp" && v.Scope == "modules");
        Assert.DoesNotContain(spec.Variants, v => v.Tier == "interp" && v.Tool == "inscount");
        var cells = RunMatrix.Expand(spec).Runs.Select(r => (r.Variant.ToString(), r.Workload.Name)).Distinct().ToList();
        Assert.Equal(2 + 5 * 3 - 1, cells.Count);
        Assert.DoesNotContain(("drk auto inscount [kernel] 1 vCPU", "a"), cells);
        Assert.Contains(("drk auto inscount [kernel] 1 vCPU", "b"), cells);
        Assert.Contains(("drk interp null [kernel] 1 vCPU", "a"), cells);
        Assert.DoesNotContain(("drk interp null [kernel] 1 vCPU", "b"), cells);
    }

    [Fact]
    public void A_tool_assembly_is_checked_by_the_drk_build_and_passed_by_full_path()
    {
        Directory.CreateDirectory(Path.Combine(_repo.Root, "tools"));
        File.WriteAllText(Path.Combine(_repo.Root, "tools", "Mine.dll"), "stand-in");
        var yaml = Guest + "\nworkloads: [a]\ntools: [none, ../tools/Mine.dll]\n";
        var checkedPaths = new List<string>();

        var refusing = new DrkToolSet(["null"], p => { checkedPaths.Add(p); return "no public ITool class with a parameterless constructor in it"; });
        var e = Assert.Throws<InvalidSpecException>(() => SpecLoader.Load(_repo.WriteSpec("refused", yaml), refusing));
        Assert.Equal("tool assembly '../tools/Mine.dll' cannot be used: no public ITool class with a parameterless constructor in it", Assert.Single(e.Errors).Message);

        var full = Path.Combine(_repo.Root, "tools", "Mine.dll");
        Assert.Equal([full], checkedPaths);
        var spec = SpecLoader.Load(_repo.WriteSpec("accepted", yaml), new DrkToolSet(["null"], _ => null));
        var variant = spec.Variants.Single(v => v.Tool == "../tools/Mine.dll");
        Assert.Equal(full, spec.ToolAssemblies[variant.Tool]);
        var request = new Drk.Experiments.Engines.RunRequest(variant, spec.Workloads[0], spec.Guest, "run=a", TimeSpan.FromSeconds(1), null, null,
            spec.ToolAssemblies[variant.Tool]);
        var args = Drk.Experiments.Engines.DrkEngine.Arguments(request);
        Assert.Equal(full, args[args.ToList().IndexOf("--tool") + 1]);
    }

    [Fact]
    public void Tool_names_come_from_the_tool_set_given()
    {
        var yaml = Guest + "\nworkloads: [a]\ntools: [none, memcheck]\n";

        var spec = SpecLoader.Load(_repo.WriteSpec("memcheck", yaml), new DrkToolSet(["null", "inscount", "memcheck"]));

        Assert.Contains(spec.Variants, v => v.Tool == "memcheck");
        Assert.Throws<InvalidSpecException>(() => SpecLoader.Load(_repo.WriteSpec("memcheck2", yaml), new DrkToolSet(["null", "inscount"])));
    }

    [Fact]
    public void Every_problem_of_a_file_is_reported_at_once()
    {
        var path = _repo.WriteSpec("many", Guest + "\nworkloads: [a]\ntools: [nul]\nrepetitions: -1\nwarmups: 2\n");

        var e = Assert.Throws<InvalidSpecException>(() => SpecLoader.Load(path));

        Assert.Equal([5, 6, 7], e.Errors.Select(x => (int)x.Line).Order());
    }

    [Fact]
    public void A_missing_spec_file_is_one_clear_error()
    {
        var e = Assert.Throws<InvalidSpecException>(() => SpecLoader.Load(Path.Combine(_repo.Root, "nope.yaml")));

        Assert.Contains("cannot read the spec: no such file", Assert.Single(e.Errors).ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("smoke")]
    [InlineData("overhead")]
    [InlineData("vs-qemu")]
    public void The_shipped_specs_are_valid(string name)
    {
        var spec = SpecLoader.Load(_repo.CopyShippedSpec(name));

        Assert.Equal(name, spec.Name);
        Assert.NotEmpty(spec.Figures);
    }

    [Fact]
    public void Overhead_spec_covers_every_scope_on_auto_and_the_slow_tiers_on_a_few_workloads()
    {
        var spec = SpecLoader.Load(_repo.CopyShippedSpec("overhead"));
        var cells = RunMatrix.Expand(spec).Runs.Select(r => (r.Variant, r.Workload.Name)).Distinct().ToList();

        foreach (var tool in new[] { "null", "inscount" })
        {
            foreach (var scope in KnownNames.Scopes)
                Assert.Equal(spec.Workloads.Count, cells.Count(c => c.Variant.Tier == "auto" && c.Variant.Tool == tool && c.Variant.Scope == scope));
            Assert.Equal(3, cells.Count(c => c.Variant.Tier == "interp" && c.Variant.Tool == tool && c.Variant.Scope == "kernel"));
        }
        // The interpreter's tools are compared with the interpreter without a tool on the same workloads.
        var interpWorkloads = cells.Where(c => c.Variant.Tier == "interp").Select(c => c.Name).Distinct().Order().ToList();
        Assert.Equal(["compute-module", "compute-user", "null-syscall"], interpWorkloads);
        Assert.Equal(interpWorkloads, cells.Where(c => c.Variant.Tier == "jit").Select(c => c.Name).Distinct().Order());
        Assert.DoesNotContain(spec.Variants, v => v.Tier == "jit" && v.Tool != KnownNames.NoTool);
        Assert.DoesNotContain(spec.Variants, v => v.Tier == "interp" && v.Scope is "modules" or "kernel+modules");
        Assert.Equal(13 * 7 + 3 * 3 + 3, cells.Count);
        Assert.Equal(3, spec.Repetitions);
    }
}
