using System.CommandLine;
using System.CommandLine.Parsing;
using Drk.Cli.Running;
using Drk.Dispatcher.Jit;
using Drk.Dispatcher.Tools;

namespace Drk.Cli.Commands;

/// <summary>
/// <c>drk run KERNEL.elf</c>: boots the guest kernel on the Drk machine and runs it through the
/// dispatcher; the guest's serial console goes to standard output, the exit status is the guest's
/// (docs/running.md lists every status).
/// </summary>
/// <remarks>
/// Every option takes its value as text and is validated here, and unknown words are collected by
/// a hidden argument instead of rejected by the parser, so that any bad invocation ends with one
/// line on standard error and status 64, never the parser's status 1 (which is a guest status).
/// </remarks>
internal static class RunCommand
{

    public static Command Create()
    {
        var kernel = new Argument<string?>("KERNEL") { Description = "The guest kernel (ELF64 with a 64-bit entry), e.g. guest/build/kernel.elf", Arity = ArgumentArity.ZeroOrOne };
        var initrd = Text("--initrd", "The initrd, loaded at the top of RAM as module 0", "FILE");
        var append = Text("--append", "The kernel command line, e.g. \"selftest\"", "TEXT");
        var smp = Text("--smp", "Number of vCPUs, 1-254 [default: 1]", "N");
        var memory = Text("--memory", "Guest RAM: 256M, 1G, or a number of MiB [default: 256M]", "SIZE");
        var maxInstructions = Text("--max-instructions", "Stop (status 81, with a dump) after this many retired instructions", "N");
        var serialOut = Text("--serial-out", "Write the guest's serial output to this file instead of standard output", "FILE");
        var serialIn = Text("--serial-in", "Feed the guest's serial input from this file ('-': standard input)", "FILE");
        var tier = Text("--tier", "Execution tier: interp (the IR interpreter), jit (every block compiled to IL), auto (hot blocks compiled in the background) [default: auto]", "TIER");
        var cacheSize = Text("--cache-size", "Most bytes of guest code each vCPU's code cache translates before it is flushed and refilled: 64K, 4M, or a number of bytes [default: no limit]", "SIZE");
        var tool = new Option<string[]>("--tool") { Description = $"Analysis tools to run, comma-separated or repeated: {ToolCatalog.Names}, or the path of a .dll with ITool classes", Arity = ArgumentArity.OneOrMore, HelpName = "TOOL", AllowMultipleArgumentsPerToken = false };
        var scope = Text("--scope", $"Which kernel code tools instrument: {InstrumentationScopeNames.All} [default: kernel+modules]", "SCOPE");
        var report = Text("--report", "Write the tools' error reports to this file as JSON lines (one per folded context)", "FILE");
        var stats = new Option<bool>("--stats") { Description = "Print instructions, blocks built, guest MIPS, wall time and the exit reason on standard error" };

        // Collects whatever else is on the command line, so the action (not the parser) rejects it.
        var surplus = new Argument<string[]>("surplus") { Arity = ArgumentArity.ZeroOrMore, Hidden = true };

        var command = new Command("run", "Boot a guest kernel on the Drk machine and run it through the dispatcher");
        command.Arguments.Add(kernel);
        command.Arguments.Add(surplus);
        foreach (var o in new Option[] { initrd, append, smp, memory, maxInstructions, serialOut, serialIn, tier, cacheSize, tool, scope, report, stats })
            command.Options.Add(o);

        command.SetAction(parse =>
        {
            var stderr = Console.Error;
            int Usage(string message)
            {
                stderr.WriteLine($"drk run: {message}");
                return RunExitStatus.Usage;
            }

            if (parse.Errors.Count > 0) return Usage(parse.Errors[0].Message);
            if (parse.GetValue(surplus) is [var first, ..]) return Usage($"unexpected argument '{first}' (see drk run --help)");
            if (parse.UnmatchedTokens.Count > 0) return Usage($"unexpected argument '{parse.UnmatchedTokens[0]}' (see drk run --help)");
            var kernelPath = parse.GetValue(kernel);
            if (string.IsNullOrEmpty(kernelPath)) return Usage("no kernel given: drk run KERNEL.elf [options]");
            foreach (var o in new[] { initrd, append, smp, memory, maxInstructions, serialOut, serialIn, tier, cacheSize, scope, report })
                if (parse.GetResult(o) is { } r && r.Tokens.Count == 0 && !r.Implicit) return Usage($"{o.Name} needs a value");

            ulong cpus = 1;
            if (parse.GetValue(smp) is { } smpText && !RunArgumentParser.TryParseCount("--smp", smpText, 1, 254, out cpus, out var error)) return Usage(error);
            ulong ram = 256UL << 20;
            if (parse.GetValue(memory) is { } memoryText && !RunArgumentParser.TryParseMemory(memoryText, out ram, out error)) return Usage(error);
            ulong budget = ulong.MaxValue;
            if (parse.GetValue(maxInstructions) is { } maxText && !RunArgumentParser.TryParseCount("--max-instructions", maxText, 1, ulong.MaxValue, out budget, out error)) return Usage(error);
            var executionTier = ExecutionTier.Auto;
            if (parse.GetValue(tier) is { } tierText && !TryParseTier(tierText, out executionTier))
                return Usage($"--tier '{tierText}' is not a tier: interp, jit or auto");

            if (!ToolCatalog.TryCreate(parse.GetValue(tool) ?? [], out var tools, out error)) return Usage(error);
            var instrumentationScope = InstrumentationScope.KernelAndModules;
            if (parse.GetValue(scope) is { } scopeText && !InstrumentationScopeNames.TryParse(scopeText, out instrumentationScope))
                return Usage($"--scope '{scopeText}' is not a scope: {InstrumentationScopeNames.All}");
            ulong cacheBytes = 0;
            if (parse.GetValue(cacheSize) is { } cacheText && !RunArgumentParser.TryParseSize("--cache-size", cacheText, out cacheBytes, out error)) return Usage(error);
            var settings = new RunSettings(kernelPath, parse.GetValue(initrd), parse.GetValue(append) ?? "", (int)cpus, ram, budget,
                parse.GetValue(serialOut), parse.GetValue(serialIn), executionTier, parse.GetValue(stats), (long)cacheBytes, tools, instrumentationScope, parse.GetValue(report));
            return new GuestSession(settings, stderr).Execute();
        });
        return command;
    }

    private static bool TryParseTier(string text, out ExecutionTier tier)
    {
        (bool ok, tier) = text switch
        {
            "interp" or "interpreter" => (true, ExecutionTier.Interpreter),
            "jit" => (true, ExecutionTier.Jit),
            "auto" => (true, ExecutionTier.Auto),
            _ => (false, ExecutionTier.Interpreter),
        };
        return ok;
    }

    private static Option<string?> Text(string name, string description, string valueName) =>
        new(name) { Description = description, Arity = ArgumentArity.ZeroOrOne, HelpName = valueName };
}
