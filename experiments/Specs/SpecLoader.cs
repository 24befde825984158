using System.Text.RegularExpressions;
using Drk.Experiments.Matrix;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Drk.Experiments.Specs;

/// <summary>
/// Reads an experiment spec from YAML and validates it completely before anything runs: unknown keys, wrong
/// types, unknown engines/tiers/tools/scopes, missing guest images and unusable baselines or figures are all
/// reported as <c>file:line:column: message</c>. Relative paths in a spec are relative to the spec's folder.
/// </summary>
public static partial class SpecLoader
{
    private static readonly string[] TopLevelKeys =
    [
        "name", "description", "guest", "workloads", "engines", "tiers", "tools", "scopes", "vcpus",
        "repetitions", "warmup", "timeout", "max-instructions", "native-program", "baseline", "metric",
        "figures", "seed", "resamples", "exclude",
    ];

    /// <summary>Loads and validates the spec at <paramref name="path"/>.</summary>
    /// <param name="tools">The tools the drk that will run it knows; <see cref="DrkToolSet.Shipped"/> when null.</param>
    /// <exception cref="InvalidSpecException">The file is missing, unreadable or invalid.</exception>
    public static ExperimentSpec Load(string path, DrkToolSet? tools = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var why = e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message;
            throw new InvalidSpecException([new SpecError(path, 0, 0, $"cannot read the spec: {why}")]);
        }
        return Parse(text, path, tools);
    }

    /// <summary>Validates spec text as if it had been read from <paramref name="path"/>.</summary>
    public static ExperimentSpec Parse(string yaml, string path, DrkToolSet? tools = null)
    {
        var errors = new SpecErrorSink(path);
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Directory.GetCurrentDirectory();
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(yaml));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException e)
        {
            errors.Add(e.Start.Line, e.Start.Column, $"not valid YAML: {YamlMessage(e)}");
            throw new InvalidSpecException(errors.Errors);
        }
        catch (InvalidOperationException)
        {
            // Some malformed flow collections make the scanner give up without a YamlException; where it
            // stopped is still the best place to look.
            var at = scanner.CurrentPosition;
            errors.Add(at.Line, at.Column, "not valid YAML: unexpected text here (an unclosed [ or { before it?)");
            throw new InvalidSpecException(errors.Errors);
        }
        if (stream.Documents.Count != 1)
        {
            var at = stream.Documents.Count > 1 ? stream.Documents[1].RootNode.Start.Line : 1;
            errors.Add(at, 1, stream.Documents.Count == 0 ? "the spec is empty" : "a spec is one YAML document, found several");
            throw new InvalidSpecException(errors.Errors);
        }
        var spec = new Reader(errors, baseDir, path, tools ?? DrkToolSet.Shipped).Read(stream.Documents[0].RootNode);
        if (spec is null || errors.Errors.Count > 0) throw new InvalidSpecException(errors.Errors);
        return spec;
    }

    // YamlDotNet prefixes its messages with the position; the caller prints its own.
    private static string YamlMessage(YamlException e) => PositionPrefix().Replace(e.Message, "").Trim();

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):")]
    private static partial Regex PositionPrefix();

    [GeneratedRegex(@"^[A-Za-z0-9_.+-]+$")]
    private static partial Regex PlainName();

    [GeneratedRegex(@"^[0-9]+[KMGT]?$")]
    private static partial Regex MemorySize();

    /// <summary>One pass over one document; errors accumulate in the sink.</summary>
    private sealed class Reader(SpecErrorSink errors, string baseDir, string path, DrkToolSet toolSet)
    {
        /// <summary>Tool values a selector may name: none, the built-in tools and the spec's own .dll paths.</summary>
        private readonly List<string> _toolNames = [.. toolSet.Names];

        private readonly Dictionary<string, string> _toolAssemblies = new(StringComparer.Ordinal);

        private readonly Dictionary<CellExclusion, YamlNode> _exclusionNodes = new(ReferenceEqualityComparer.Instance);

        public ExperimentSpec? Read(YamlNode root)
        {
            var top = YamlMappingReader.Open(errors, root, "the spec", TopLevelKeys);
            if (top is null) return null;

            var name = top.String("name") ?? Path.GetFileNameWithoutExtension(path);
            if (!PlainName().IsMatch(name))
                errors.Add(top.Get("name") ?? root, $"'name' must be letters, digits, '.', '_', '+' or '-', got '{name}'");

            var engines = ReadEngines(top);
            var hasDrk = engines.Contains(EngineKind.Drk);
            var tiers = DrkOnly(top, "tiers", KnownNames.Tiers, "tier", hasDrk) ?? ["auto"];
            var tools = ReadTools(top, hasDrk) ?? [KnownNames.NoTool];
            var scopes = DrkOnly(top, "scopes", KnownNames.Scopes, "scope", hasDrk) ?? ["kernel"];
            var vcpus = ReadVcpus(top);

            var guest = ReadGuest(top, needed: engines.Any(e => e != EngineKind.Native));
            var workloads = ReadWorkloads(top);
            var nativeProgram = top.String("native-program", required: engines.Contains(EngineKind.Native));
            if (nativeProgram is not null) nativeProgram = Path.GetFullPath(Path.Combine(baseDir, nativeProgram));

            var variants = Expand(engines, tiers, tools, scopes, vcpus);
            var exclusions = ReadExclusions(top, variants, workloads);
            // A variant every workload of which is excluded is not part of the experiment at all (no legend entry,
            // no baseline needed).
            if (exclusions.Count > 0 && workloads.Count > 0)
                variants = variants.Where(v => workloads.Any(w => !exclusions.Any(x => x.Excludes(v, w.Name)))).ToList();
            var baseline = ReadBaseline(top, root, variants);
            CheckBaselineCells(top, variants, workloads, baseline, exclusions);
            var figures = ReadFigures(top, variants, baseline);

            var metric = SlowdownMetric.Wall;
            if (top.String("metric") is { } metricText)
            {
                if (metricText == "cycles") metric = SlowdownMetric.Cycles;
                else if (metricText == "cpu") metric = SlowdownMetric.Cpu;
                else if (metricText != "wall") errors.Add(top.Get("metric")!, $"unknown metric '{metricText}' (known: wall, cpu, cycles)");
            }

            return new ExperimentSpec
            {
                Name = name,
                Description = top.String("description")?.Trim(),
                SourcePath = path,
                Guest = guest ?? new GuestImage("", null, "", "256M"),
                Workloads = workloads,
                Variants = variants,
                Baseline = baseline,
                Exclusions = exclusions,
                ToolAssemblies = _toolAssemblies,
                Metric = metric,
                Repetitions = (int)(top.Integer("repetitions", 1, 10_000) ?? 5),
                Warmup = (int)(top.Integer("warmup", 0, 100) ?? 0),
                Timeout = top.Duration("timeout") ?? TimeSpan.FromMinutes(10),
                MaxInstructions = top.Integer("max-instructions", 1),
                NativeProgram = nativeProgram,
                Figures = figures,
                Seed = (int)(top.Integer("seed", 0, int.MaxValue) ?? 1),
                Resamples = (int)(top.Integer("resamples", 100, 1_000_000) ?? 10_000),
            };
        }

        private List<EngineKind> ReadEngines(YamlMappingReader top)
        {
            var names = top.Choices("engines", KnownNames.EngineNames, "engine") ?? ["drk"];
            return names.Select(KnownNames.EngineOf).ToList();
        }

        private IReadOnlyList<string>? DrkOnly(YamlMappingReader top, string key, IReadOnlyList<string> allowed, string what, bool hasDrk)
        {
            var values = top.Choices(key, allowed, what);
            if (values is not null && !hasDrk)
                errors.Add(top.Get(key)!, $"'{key}' applies only to the drk engine, which this spec does not run");
            return values is { Count: > 0 } ? values : null;
        }

        private List<int> ReadVcpus(YamlMappingReader top)
        {
            var items = top.Strings("vcpus");
            if (items is null) return [1];
            var result = new List<int>();
            foreach (var (_, node) in items)
            {
                if (top.IntegerOf(node, "vcpus", 1, 256) is not { } n) continue;
                if (result.Contains((int)n)) errors.Add(node, $"vcpus {n} is listed twice");
                else result.Add((int)n);
            }
            return result.Count > 0 ? result : [1];
        }

        private GuestImage? ReadGuest(YamlMappingReader top, bool needed)
        {
            var node = top.Get("guest", required: needed);
            if (node is null) return null;
            var guest = YamlMappingReader.Open(errors, node, "guest", "kernel", "initrd", "append", "memory");
            if (guest is null) return null;
            var kernel = ExistingFile(guest, "kernel", "kernel image", required: true);
            var initrd = ExistingFile(guest, "initrd", "initrd", required: false);
            var memory = guest.String("memory") ?? "256M";
            if (!MemorySize().IsMatch(memory))
                errors.Add(guest.Get("memory")!, $"'memory' must be a size like 256M or 1G, got '{memory}'");
            return new GuestImage(kernel ?? "", initrd, guest.String("append") ?? "", memory);
        }

        private string? ExistingFile(YamlMappingReader mapping, string key, string what, bool required)
        {
            var value = mapping.String(key, required);
            if (value is null) return null;
            var full = Path.GetFullPath(Path.Combine(baseDir, value));
            if (!File.Exists(full))
                errors.Add(mapping.Get(key)!, $"{what} '{value}' not found (looked for {full}; is the guest built? make -C guest)");
            return full;
        }

        private List<WorkloadSpec> ReadWorkloads(YamlMappingReader top)
        {
            var result = new List<WorkloadSpec>();
            var node = top.Get("workloads", required: true);
            if (node is null) return result;
            if (node is not YamlSequenceNode list || list.Children.Count == 0)
            {
                errors.Add(node, "'workloads' must be a non-empty list of workload names or {name, args} mappings");
                return result;
            }
            foreach (var item in list.Children)
            {
                string? name;
                string? args = null;
                YamlNode nameNode = item;
                if (item is YamlMappingNode)
                {
                    var w = YamlMappingReader.Open(errors, item, "workload", "name", "args");
                    name = w?.String("name", required: true);
                    args = w?.String("args");
                    nameNode = w?.Get("name") ?? item;
                }
                else
                {
                    name = top.ScalarText(item, "workloads");
                }
                if (name is null) continue;
                if (!PlainName().IsMatch(name))
                    errors.Add(nameNode, $"workload name '{name}' must be letters, digits, '.', '_', '+' or '-'");
                else if (result.Any(w => w.Name == name))
                    errors.Add(nameNode, $"workload '{name}' is listed twice");
                else
                    result.Add(new WorkloadSpec(name, args));
            }
            return result;
        }

        /// <summary>
        /// The <c>tools</c> list: <c>none</c>, a tool the drk build knows by name, or the path (relative to the spec)
        /// of a .dll with tool classes, which must exist and pass the build's own check.
        /// </summary>
        private IReadOnlyList<string>? ReadTools(YamlMappingReader top, bool hasDrk)
        {
            var items = top.Strings("tools");
            if (items is null) return null;
            if (!hasDrk) errors.Add(top.Get("tools")!, "'tools' applies only to the drk engine, which this spec does not run");
            var result = new List<string>();
            foreach (var (value, node) in items)
            {
                if (result.Contains(value, StringComparer.Ordinal))
                {
                    errors.Add(node, $"tool '{value}' is listed twice");
                    continue;
                }
                if (DrkToolSet.IsAssemblyPath(value))
                {
                    var full = Path.GetFullPath(Path.Combine(baseDir, value));
                    if (!File.Exists(full))
                    {
                        errors.Add(node, $"tool assembly '{value}' not found (looked for {full}; is the tool built? dotnet build -c Release)");
                        continue;
                    }
                    if (toolSet.CheckAssembly(full) is { } why)
                    {
                        errors.Add(node, $"tool assembly '{value}' cannot be used: {why}");
                        continue;
                    }
                    _toolAssemblies[value] = full;
                    _toolNames.Add(value);
                }
                else if (!toolSet.Names.Contains(value, StringComparer.Ordinal))
                {
                    errors.Add(node, $"unknown tool '{value}' (this drk knows: {string.Join(", ", toolSet.Names)}, or the path of a .dll with ITool classes)");
                    continue;
                }
                result.Add(value);
            }
            return result.Count > 0 ? result : null;
        }

        /// <summary>The <c>exclude</c> list: cells to leave out, each entry a mapping of dimension (or <c>workload</c>) to one value or a list.</summary>
        private List<CellExclusion> ReadExclusions(YamlMappingReader top, List<Variant> variants, List<WorkloadSpec> workloads)
        {
            var result = new List<CellExclusion>();
            var node = top.Get("exclude");
            if (node is null) return result;
            if (node is not YamlSequenceNode list)
            {
                errors.Add(node, "'exclude' must be a list of mappings like {tier: interp, workload: [pipe, fork-exit]}");
                return result;
            }
            var workloadNames = workloads.Select(w => w.Name).ToList();
            foreach (var item in list.Children)
            {
                var m = YamlMappingReader.Open(errors, item, "an exclude entry", "engine", "tier", "tool", "scope", "vcpus", "workload");
                if (m is null) continue;
                var before = errors.Errors.Count;
                var vcpus = m.Strings("vcpus")?.Select(x => m.IntegerOf(x.Node, "vcpus", 1, 256)).OfType<long>().Select(n => (int)n).ToList();
                var exclusion = new CellExclusion(
                    m.Choices("engine", KnownNames.EngineNames, "engine"),
                    m.Choices("tier", KnownNames.Tiers, "tier"),
                    m.Choices("tool", _toolNames, "tool"),
                    m.Choices("scope", KnownNames.Scopes, "scope"),
                    vcpus,
                    m.Choices("workload", workloadNames, "workload"));
                if (errors.Errors.Count > before) continue;
                if (m.Node.Children.Count == 0)
                    errors.Add(item, "an exclude entry must name at least one of engine, tier, tool, scope, vcpus, workload");
                else if (workloads.Count > 0 && !variants.Any(v => workloads.Any(w => exclusion.Excludes(v, w.Name))))
                    errors.Add(item, "this exclude entry matches no cell of the matrix");
                else
                {
                    result.Add(exclusion);
                    _exclusionNodes[exclusion] = item;
                }
            }
            return result;
        }

        /// <summary>Every cell that is compared must have its baseline cell in the matrix, or its slowdown would silently be missing.</summary>
        private void CheckBaselineCells(
            YamlMappingReader top, List<Variant> variants, List<WorkloadSpec> workloads, VariantSelector baseline, List<CellExclusion> exclusions)
        {
            if (exclusions.Count == 0) return;
            foreach (var v in variants.Where(v => !baseline.Selects(v)))
            {
                var b = variants.Where(baseline.Selects).Where(c => baseline.Matches(c, v)).ToList();
                if (b.Count != 1) continue;
                foreach (var w in workloads)
                {
                    if (exclusions.Any(x => x.Excludes(v, w.Name))) continue;
                    var rule = exclusions.FirstOrDefault(x => x.Excludes(b[0], w.Name));
                    if (rule is null) continue;
                    errors.Add(_exclusionNodes[rule], $"this exclude entry leaves out the baseline '{b[0]}' on {w.Name}, which '{v}' is compared with; exclude both or neither");
                    break;
                }
            }
        }

        private static List<Variant> Expand(
            List<EngineKind> engines, IReadOnlyList<string> tiers, IReadOnlyList<string> tools,
            IReadOnlyList<string> scopes, List<int> vcpus)
        {
            var variants = new List<Variant>();
            foreach (var engine in engines)
            {
                var name = KnownNames.NameOf(engine);
                foreach (var n in vcpus)
                {
                    if (engine != EngineKind.Drk)
                    {
                        variants.Add(new Variant(name, "", "", "", n));
                        continue;
                    }
                    foreach (var tier in tiers)
                        foreach (var tool in tools)
                            // Scope decides which code a tool instruments; without a tool there is nothing to scope.
                            foreach (var scope in tool == KnownNames.NoTool ? [""] : scopes)
                                variants.Add(new Variant(name, tier, tool, scope, n));
                }
            }
            return variants;
        }

        private VariantSelector ReadBaseline(YamlMappingReader top, YamlNode root, List<Variant> variants)
        {
            var node = top.Get("baseline");
            VariantSelector selector;
            if (node is null)
            {
                var first = variants.FirstOrDefault();
                if (first is null) return new VariantSelector(null, null, null, null);
                selector = new VariantSelector(first.Engine, NullIfEmpty(first.Tier), NullIfEmpty(first.Tool), NullIfEmpty(first.Scope));
                node = root;
            }
            else
            {
                var before = errors.Errors.Count;
                selector = ReadSelector(node, "baseline");
                if (errors.Errors.Count > before) return selector;
            }

            var baselines = variants.Where(selector.Selects).ToList();
            if (baselines.Count == 0)
            {
                errors.Add(node, $"baseline ({selector}) matches none of the variants this spec runs: {string.Join("; ", variants)}");
                return selector;
            }
            foreach (var v in variants.Where(v => !selector.Selects(v)))
            {
                var candidates = baselines.Where(c => selector.Matches(c, v)).ToList();
                if (candidates.Count == 0)
                    errors.Add(node, $"baseline ({selector}) has no variant to compare '{v}' with (same vCPUs, and the same engine, tier, tool and scope where not named)");
                else if (candidates.Count > 1)
                    errors.Add(node, $"baseline ({selector}) is ambiguous for '{v}': {string.Join(" or ", candidates)}; name more keys");
            }
            return selector;
        }

        private VariantSelector ReadSelector(YamlNode node, string what)
        {
            var m = YamlMappingReader.Open(errors, node, what, "engine", "tier", "tool", "scope");
            if (m is null) return new VariantSelector(null, null, null, null);
            return new VariantSelector(
                Known(m, "engine", KnownNames.EngineNames),
                Known(m, "tier", KnownNames.Tiers),
                Known(m, "tool", _toolNames),
                Known(m, "scope", KnownNames.Scopes));
        }

        private string? Known(YamlMappingReader mapping, string key, IReadOnlyList<string> allowed)
        {
            var value = mapping.String(key);
            if (value is not null && !allowed.Contains(value, StringComparer.Ordinal))
                errors.Add(mapping.Get(key)!, $"unknown {key} '{value}' in {mapping.What} (known: {string.Join(", ", allowed)})");
            return value;
        }

        private List<FigureSpec> ReadFigures(YamlMappingReader top, List<Variant> variants, VariantSelector baseline)
        {
            var compared = variants.Where(v => !baseline.Selects(v)).ToList();
            var drk = variants.Where(v => v.Engine == "drk").ToList();
            var node = top.Get("figures");
            if (node is null)
            {
                var defaults = new List<FigureSpec>();
                if (compared.Count > 0)
                    defaults.Add(new FigureSpec("slowdown", FigureKind.Slowdown, OrDefault(VariantDimensions.Varying(compared), [Dimension.Engine, Dimension.Tier]), [], false, null));
                if (drk.Count > 0)
                    defaults.Add(new FigureSpec("mips", FigureKind.Mips, OrDefault(VariantDimensions.Varying(drk), [Dimension.Tier]), [], false, null));
                return defaults;
            }
            var figures = new List<FigureSpec>();
            if (node is not YamlSequenceNode list)
            {
                errors.Add(node, "'figures' must be a list of {name, kind, series, panels, log, title} mappings");
                return figures;
            }
            foreach (var item in list.Children)
            {
                var f = YamlMappingReader.Open(errors, item, "figure", "name", "kind", "series", "panels", "log", "title", "only");
                if (f is null) continue;
                var kindText = f.String("kind", required: true);
                FigureKind kind;
                switch (kindText)
                {
                    case null: continue;
                    case "slowdown": kind = FigureKind.Slowdown; break;
                    case "mips": kind = FigureKind.Mips; break;
                    default:
                        errors.Add(f.Get("kind")!, $"unknown figure kind '{kindText}' (known: slowdown, mips)");
                        continue;
                }
                var name = f.String("name") ?? kindText;
                if (!PlainName().IsMatch(name)) errors.Add(f.Get("name")!, $"figure name '{name}' must be usable as a file name");
                else if (figures.Any(x => x.Name == name)) errors.Add(f.Get("name") ?? item, $"figure name '{name}' is used twice");

                var shown = kind == FigureKind.Slowdown ? compared : drk;
                var only = f.Get("only") is { } onlyNode ? ReadSelector(onlyNode, "only") : null;
                if (only is not null) shown = shown.Where(only.Selects).ToList();
                if (shown.Count == 0 && only is not null)
                {
                    errors.Add(f.Get("only")!, $"figure '{name}': 'only' ({only}) leaves no variant to draw");
                    continue;
                }
                if (shown.Count == 0)
                {
                    errors.Add(f.Get("kind")!, kind == FigureKind.Slowdown
                        ? "a slowdown figure needs variants other than the baseline"
                        : "a mips figure needs the drk engine (only it reports retired instructions)");
                    continue;
                }
                var panels = Dimensions(f, "panels") ?? [];
                var varying = VariantDimensions.Varying(shown);
                var series = Dimensions(f, "series") ?? varying.Except(panels).ToList();
                // A lone variant still needs a legend entry: name it by its engine (and tier, for Drk).
                if (series.Count == 0) series = (kind == FigureKind.Mips ? [Dimension.Tier] : new[] { Dimension.Engine, Dimension.Tier }).Except(panels).ToList();
                foreach (var d in series.Intersect(panels))
                    errors.Add(f.Get("panels")!, $"dimension '{KnownNames.NameOf(d)}' is both a series and a panel");
                foreach (var d in varying.Except(series).Except(panels))
                    errors.Add(f.Get("series") ?? item,
                        $"figure '{name}': '{KnownNames.NameOf(d)}' varies across its variants but is neither a series nor a panel");
                figures.Add(new FigureSpec(name, kind, series, panels, f.Boolean("log") ?? false, f.String("title"), only));
            }
            return figures;
        }

        private List<Dimension>? Dimensions(YamlMappingReader f, string key)
        {
            var names = f.Choices(key, KnownNames.DimensionNames, "dimension");
            return names?.Select(KnownNames.DimensionOf).ToList();
        }

        private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

        private static IReadOnlyList<Dimension> OrDefault(IReadOnlyList<Dimension> varying, IReadOnlyList<Dimension> fallback) =>
            varying.Count > 0 ? varying : fallback;
    }
}
