using System.Globalization;

namespace Drk.Dispatcher.Execution;

/// <summary>
/// The code cache's statistics of a run, summed over vCPUs, as <c>name: value</c> lines for
/// <c>drk run --stats</c>: fragments and cache bytes, flushes, link and indirect-branch-table hit
/// rates, traces, JIT compile time and how the executed instructions split between the tiers.
/// </summary>
public static class CodeCacheReport
{
    /// <summary>The lines for <paramref name="runner"/> after a run that took <paramref name="elapsed"/>.</summary>
    public static IReadOnlyList<string> Lines(MachineRunner runner, TimeSpan elapsed)
    {
        var c = CultureInfo.InvariantCulture;
        var d = new DispatchStatistics();
        long fragments = 0, bytes = 0, peak = 0, flushes = 0, iblHits = 0, iblMisses = 0;
        long compiled = 0, bulk = 0, traces = 0, traceBlocks = 0, compiledRuns = 0, interpretedRuns = 0, unsupported = 0, resumes = 0;
        TimeSpan compile = TimeSpan.Zero, traceCompile = TimeSpan.Zero;
        bool jit = false;
        foreach (var v in runner.Vcpus)
        {
            d.Add(v.Statistics);
            fragments += v.Cache.Added;
            bytes += v.Cache.CodeBytes;
            peak = Math.Max(peak, v.Cache.PeakCodeBytes);
            flushes += v.Cache.Flushes;
            iblHits += v.Ibl.Hits;
            iblMisses += v.Ibl.Misses;
            if (v.Jit is { } tier)
            {
                jit = true;
                var s = tier.Statistics;
                compiled += s.BlocksCompiled;
                traces += s.TracesCompiled;
                traceBlocks += s.TraceBlocks;
                compile += s.CompileTime;
                traceCompile += s.TraceCompileTime;
                compiledRuns += s.CompiledExecutions;
                interpretedRuns += s.InterpretedExecutions;
                unsupported += s.Unsupported;
                resumes += tier.Runtime.InterpreterResumes;
                bulk += tier.Runtime.Budget.BulkIterations;
            }
        }
        var lines = new List<string>
        {
            string.Create(c, $"fragments-cached: {fragments}"),
            string.Create(c, $"blocks-optimised: {d.BlocksOptimised}"),
            string.Create(c, $"cache-bytes: {bytes}"),
            string.Create(c, $"cache-peak-bytes: {peak}"),
            string.Create(c, $"cache-flushes: {flushes}"),
            string.Create(c, $"links: {d.LinkHits} hits, {d.LinkMisses} misses ({Percent(d.LinkHits, d.LinkMisses)} hit rate)"),
            string.Create(c, $"ibl: {iblHits} hits, {iblMisses} misses ({Percent(iblHits, iblMisses)} hit rate)"),
            string.Create(c, $"full-lookups: {d.FullLookups}"),
        };
        if (jit)
        {
            lines.Add(string.Create(c, $"traces: {d.TracesBuilt} recorded, {d.TracesJoined} joined, {traces} compiled ({traceBlocks} blocks), {d.TraceRuns} entries ({d.TraceChains} from trace to trace, {d.TraceChainsInCode} of them inside compiled code, {d.TraceSideEntries} at a later block than the head), {d.TraceMappingMisses} refused (page remapped)"));
            lines.Add(string.Create(c, $"instructions-in-traces: {d.TraceInstructions} ({Share(d.TraceInstructions, d.BlockInstructions)})"));
            lines.Add(string.Create(c, $"rep-iterations-in-bulk: {bulk}"));
            lines.Add(string.Create(c, $"block-executions: {compiledRuns} compiled, {interpretedRuns} interpreted, {resumes} finished by the interpreter after a soft-TLB miss"));
            lines.Add(string.Create(c, $"jit-compiled: {compiled} blocks, {traces} traces, {unsupported} unsupported"));
            lines.Add(string.Create(c, $"jit-compile-ms: {compile.TotalMilliseconds:F1} (traces {traceCompile.TotalMilliseconds:F1}; {Share(compile.Ticks, elapsed.Ticks - compile.Ticks)} of wall time, on the compiler thread)"));
        }
        if (runner.TierSamples is { Total: > 0 } samples)
        {
            long total = samples.Total;
            string Part(TierSampler.Activity a) => Share(samples.Samples(a), total - samples.Samples(a));
            lines.Add(string.Create(c,
                $"time-per-tier (sampled, {total} samples): dispatch {Part(TierSampler.Activity.Dispatch)}, interpreter {Part(TierSampler.Activity.Interpreter)}, "
                + $"compiled blocks {Part(TierSampler.Activity.CompiledBlock)}, traces {Part(TierSampler.Activity.Trace)}"));
        }
        return lines;
    }

    private static string Percent(long hits, long misses) => Share(hits, misses);

    private static string Share(long part, long rest) =>
        part + rest <= 0 ? "0%" : string.Create(CultureInfo.InvariantCulture, $"{100.0 * part / (part + rest):F1}%");
}
