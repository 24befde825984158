using System.Diagnostics;
using System.Runtime.CompilerServices;
using Drk.Dispatcher.Tools.Shadow;

namespace Drk.Cli.Bench;

/// <summary>
/// Measures <see cref="ShadowMemory"/>'s per-access calls, as instrumentation makes them, and its
/// bulk operations: each per-access case is a tight loop over a table of 65,536 precomputed guest
/// physical addresses, inside one materialised 64 KiB chunk (the shadow stays in cache, so the
/// figure is the code's cost) unless the case says "random in 16 MiB" (the cost with cache and TLB
/// misses); the same loop reading only the addresses is the baseline subtracted for the "net" figure. Timestamps, not a Stopwatch object, so the measurement itself allocates nothing.
/// </summary>
internal sealed class ShadowBenchmark
{
    private const ulong Guest = 256UL << 20;
    private const ulong Region = 16UL << 20;     // materialised, all "defined", at 16 MiB
    private const ulong RegionStart = 16UL << 20;
    private const ulong UntouchedStart = 64UL << 20;
    private const int TableBits = 16;
    private const long TableMask = (1L << TableBits) - 1;

    private readonly ShadowMemory _eight = new(Guest, ShadowWidth.EightBits);
    private readonly ShadowMemory _two = new(Guest, ShadowWidth.TwoBits);
    private readonly ulong[] _aligned = new ulong[1 << TableBits];   // one chunk of the region: cache-resident shadow
    private readonly ulong[] _spread = new ulong[1 << TableBits];    // all 16 MiB of the region: cache and TLB misses
    private readonly ulong[] _untouched = new ulong[1 << TableBits];

    /// <summary>
    /// One per-access case: thread CPU time per call with and without the loop's own cost (CPU time, so
    /// other processes on a loaded machine do not inflate it), wall time per call, bytes allocated in the timed run.
    /// </summary>
    public sealed record AccessResult(string Key, string Description, double NsPerCall, double NetNsPerCall, double WallNsPerCall, long AllocatedBytes);

    /// <summary>One bulk case.</summary>
    public sealed record BulkResult(string Key, string Description, double Value, string Unit);

    public ShadowBenchmark()
    {
        foreach (var shadow in new[] { _eight, _two })
        {
            byte defined = shadow.MaxValue == 3 ? (byte)3 : (byte)1;
            // The region set whole (shared chunks), then one odd byte per chunk put back: every chunk
            // of the region is materialised, all of it "defined".
            shadow.Set(RegionStart, Region, defined);
            for (ulong chunk = RegionStart; chunk < RegionStart + Region; chunk += ShadowMemory.ChunkSize)
            {
                shadow.Set(chunk + 100, 1, 2);
                shadow.Set(chunk + 100, 1, defined);
            }
        }
        var random = new Random(6);
        for (int i = 0; i < _aligned.Length; i++)
        {
            _aligned[i] = RegionStart + 5 * ShadowMemory.ChunkSize + (ulong)random.NextInt64((long)ShadowMemory.ChunkSize / 8 - 2) * 8;
            _spread[i] = RegionStart + (ulong)random.NextInt64((long)Region / 8) * 8;
            _untouched[i] = UntouchedStart + (ulong)random.NextInt64((long)Region / 8) * 8;
        }
    }

    /// <summary>Statistics of the two shadows after set-up (the region is materialised in both).</summary>
    public (ShadowStatistics Eight, ShadowStatistics Two) Statistics => (_eight.Statistics, _two.Statistics);

    /// <summary>Every per-access case, <paramref name="calls"/> calls each after a warm-up.</summary>
    public List<AccessResult> RunAccesses(long calls)
    {
        var results = new List<AccessResult>();
        double baseline = Time(() => Baseline(_aligned, calls), calls, out double baselineWall, out _);
        results.Add(new AccessResult("loop", "loop + address load alone (baseline)", baseline, 0, baselineWall, 0));
        void Add(string key, string description, Func<ulong> run)
        {
            double ns = Time(run, calls, out double wall, out long allocated);
            results.Add(new AccessResult(key, description, ns, ns - baseline, wall, allocated));
        }
        Add("check8_8bit", "Check 8 B aligned, 8-bit shadow, materialised", () => Check(_eight, _aligned, 0, 8, 1, calls));
        Add("check4_unaligned_8bit", "Check 4 B at +3, 8-bit shadow, materialised", () => Check(_eight, _aligned, 3, 4, 1, calls));
        Add("check1_8bit", "Check 1 B, 8-bit shadow, materialised", () => Check(_eight, _aligned, 5, 1, 1, calls));
        Add("check8_8bit_uniform", "Check 8 B aligned, 8-bit shadow, untouched (uniform) memory", () => Check(_eight, _untouched, 0, 8, 0, calls));
        Add("check8_8bit_spread", "Check 8 B aligned, 8-bit shadow, random in 16 MiB (misses)", () => Check(_eight, _spread, 0, 8, 1, calls));
        Add("check_allowed8_8bit", "CheckAllowed 8 B (mask), 8-bit shadow", () => CheckAllowed(_eight, _aligned, 8, 1, calls));
        Add("check8_2bit", "Check 8 B aligned, 2-bit shadow, materialised", () => Check(_two, _aligned, 0, 8, 3, calls));
        Add("check2_unaligned_2bit", "Check 2 B at +3, 2-bit shadow, materialised", () => Check(_two, _aligned, 3, 2, 3, calls));
        Add("check1_2bit", "Check 1 B, 2-bit shadow, materialised", () => Check(_two, _aligned, 5, 1, 3, calls));
        Add("check8_2bit_spread", "Check 8 B aligned, 2-bit shadow, random in 16 MiB (misses)", () => Check(_two, _spread, 0, 8, 3, calls));
        Add("get_packed8_2bit", "GetPacked 8 B (load propagation), 2-bit shadow", () => GetPacked(_two, _aligned, 8, calls));
        Add("set_packed8_8bit", "SetPacked 8 B (store), 8-bit shadow", () => SetPacked(_eight, _aligned, 8, 0x0101_0101_0101_0101, calls));
        Add("set_packed8_2bit", "SetPacked 8 B (store), 2-bit shadow", () => SetPacked(_two, _aligned, 8, 0x0303_0303_0303_0303, calls));
        Add("set4_2bit", "Set 4 B to one value, 2-bit shadow", () => SetValue(_two, _aligned, 4, 3, calls));
        return results;
    }

    /// <summary>The bulk operations on the same shadows.</summary>
    public List<BulkResult> RunBulk()
    {
        var results = new List<BulkResult>();
        var fresh = new ShadowMemory(Guest, ShadowWidth.EightBits);
        const int sets = 200;
        double setUs = TimeOnce(() =>
        {
            for (int i = 0; i < sets; i++) fresh.Set(0, Guest, (byte)(i & 1));
            return 0;
        }) * 1e6 / sets;
        results.Add(new BulkResult("set_256mib_us", "Set all 256 MiB to one value (whole chunks)", setUs, "us"));

        foreach (var (shadow, name, value) in new[] { (_eight, "8bit", (byte)1), (_two, "2bit", (byte)3) })
        {
            const int scans = 20;
            double seconds = TimeOnce(() =>
            {
                ulong sink = 0;
                for (int i = 0; i < scans; i++)
                {
                    shadow.CheckAll(RegionStart, Region, value, out ulong end);
                    sink += end;
                }
                return sink;
            });
            results.Add(new BulkResult($"check_all_{name}_gbps", $"CheckAll over 16 MiB materialised, {name} shadow", Region * (double)scans / seconds / 1e9, "GB of guest memory/s"));
            const int copies = 100;
            double copyUs = TimeOnce(() =>
            {
                for (int i = 0; i < copies; i++) shadow.Copy(RegionStart + 3, RegionStart + (8UL << 20) + 5, 1UL << 20);
                return 0;
            }) * 1e6 / copies;
            results.Add(new BulkResult($"copy_1mib_{name}_us", $"Copy 1 MiB materialised to materialised, {name} shadow{(name == "2bit" ? " (different phase: 8 fields per shift)" : "")}", copyUs, "us"));
        }
        return results;
    }

    private static double Time(Func<ulong> run, long calls, out double wallNs, out long allocated)
    {
        // Warm-up: lets tiered compilation (OSR, then tier 1) settle on the loop.
        long warm = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(warm).TotalSeconds < 0.3) run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        long cpuStart = ThreadCpuTime.Nanoseconds();
        long start = Stopwatch.GetTimestamp();
        ulong sink = run();
        var elapsed = Stopwatch.GetElapsedTime(start);
        long cpu = ThreadCpuTime.Nanoseconds() - cpuStart;
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(sink);
        wallNs = elapsed.TotalSeconds * 1e9 / calls;
        return cpu > 0 ? (double)cpu / calls : wallNs;
    }

    // Seconds of thread CPU time for one run after a warm-up one (wall time where CPU time is unavailable).
    private static double TimeOnce(Func<ulong> run)
    {
        run();
        long cpuStart = ThreadCpuTime.Nanoseconds();
        long start = Stopwatch.GetTimestamp();
        GC.KeepAlive(run());
        double wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long cpu = ThreadCpuTime.Nanoseconds() - cpuStart;
        return cpu > 0 ? cpu / 1e9 : wall;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong Baseline(ulong[] pas, long calls)
    {
        ulong sum = 0;
        for (long i = 0; i < calls; i++) sum += pas[i & TableMask];
        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong Check(ShadowMemory shadow, ulong[] pas, ulong displacement, int size, byte expected, long calls)
    {
        ulong hits = 0;
        for (long i = 0; i < calls; i++)
            if (shadow.Check(pas[i & TableMask] + displacement, size, expected)) hits++;
        return hits;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong CheckAllowed(ShadowMemory shadow, ulong[] pas, int size, byte mask, long calls)
    {
        ulong hits = 0;
        for (long i = 0; i < calls; i++)
            if (shadow.CheckAllowed(pas[i & TableMask], size, mask)) hits++;
        return hits;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong GetPacked(ShadowMemory shadow, ulong[] pas, int size, long calls)
    {
        ulong sum = 0;
        for (long i = 0; i < calls; i++) sum += shadow.GetPacked(pas[i & TableMask], size);
        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong SetPacked(ShadowMemory shadow, ulong[] pas, int size, ulong values, long calls)
    {
        for (long i = 0; i < calls; i++) shadow.SetPacked(pas[i & TableMask], size, values);
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong SetValue(ShadowMemory shadow, ulong[] pas, ulong length, byte value, long calls)
    {
        for (long i = 0; i < calls; i++) shadow.Set(pas[i & TableMask], length, value);
        return 0;
    }
}
