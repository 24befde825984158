using System.Collections.Concurrent;
using System.Globalization;
using Drk.Experiments.Engines;

namespace Drk.Experiments.Tests.Fakes;

/// <summary>
/// An engine that pretends to boot the guest: it answers instantly with a result line and a wall time from a
/// simple model (workload base time x a factor per tool and tier), or with whatever <see cref="Behaviour"/> says.
/// </summary>
internal sealed class FakeEngine(string name = "drk") : IRunEngine
{
    private int _calls;

    public string Name { get; } = name;

    /// <summary>Why the engine is unavailable, or null.</summary>
    public string? Unavailable { get; set; }

    /// <summary>Overrides the model for some runs: return null to fall back to it.</summary>
    public Func<RunRequest, int, EngineOutcome?>? Behaviour { get; set; }

    /// <summary>Called after each run finished, with the number of runs so far (tests interrupt from here).</summary>
    public Action<int>? AfterRun { get; set; }

    public ConcurrentQueue<RunRequest> Requests { get; } = new();

    public int Calls => _calls;

    public Task<string?> CheckAvailabilityAsync(CancellationToken cancellation) => Task.FromResult(Unavailable);

    public Task<EngineOutcome> RunAsync(RunRequest request, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var call = Interlocked.Increment(ref _calls);
        Requests.Enqueue(request);
        var outcome = Behaviour?.Invoke(request, call) ?? Model(request, call);
        AfterRun?.Invoke(call);
        return Task.FromResult(outcome);
    }

    /// <summary>The model's wall time for a request, without noise.</summary>
    public static double ModelSeconds(RunRequest r)
    {
        var workload = 0.1 + (r.Workload.Name.Length % 5) * 0.05;
        var tool = r.Variant.Tool switch { "null" => 1.2, "inscount" => 2.5, _ => 1.0 };
        var tier = r.Variant.Tier == "interp" ? 4.0 : 1.0;
        var engine = r.Variant.Engine == "qemu-tcg" ? 0.5 : 1.0;
        return workload * tool * tier * engine;
    }

    public static EngineOutcome Ok(RunRequest r, double seconds) => new()
    {
        WallSeconds = seconds,
        // A single-threaded engine on an idle machine: CPU time a little under wall time.
        CpuSeconds = seconds * 0.95,
        ExitCode = 0,
        GuestStatus = 0,
        Output = ["Drk guest booting", $"result workload={r.Workload.Name} iterations=1000 checksum=0xc0ffee cycles={(long)(seconds * 1e9)}"],
        Instructions = 123_456_789,
        Stats = new Dictionary<string, double> { ["fragments"] = 42 },
    };

    private static EngineOutcome Model(RunRequest r, int call)
    {
        // Deterministic +-2% noise so that intervals have some width.
        var noise = 1 + 0.02 * Math.Sin(call * 12.9898 + r.Workload.Name.Length);
        return Ok(r, ModelSeconds(r) * noise);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"fake {Name} ({_calls} calls)");
}
