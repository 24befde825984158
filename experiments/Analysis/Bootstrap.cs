using System.Security.Cryptography;
using System.Text;
using MathNet.Numerics.Random;
using MathNet.Numerics.Statistics;

namespace Drk.Experiments.Analysis;

/// <summary>
/// Percentile-bootstrap confidence intervals for medians, ratios of medians (slowdowns) and geometric means of
/// ratios. Each interval draws from its own generator, seeded from the experiment's seed and the interval's key,
/// so an interval does not change when other cells are added, removed or computed in another order.
/// </summary>
public sealed class Bootstrap(int resamples = 10_000, int seed = 1, double confidence = 0.95)
{
    private readonly double _lowQuantile = (1 - confidence) / 2;
    private readonly double _highQuantile = 1 - (1 - confidence) / 2;

    public int Resamples { get; } = resamples >= 1 ? resamples : throw new ArgumentOutOfRangeException(nameof(resamples));

    /// <summary>The median of <paramref name="sample"/> with its interval.</summary>
    public Estimate Median(IReadOnlyList<double> sample, string key)
    {
        Require(sample, nameof(sample));
        var rng = RandomFor(key);
        var buffer = new double[sample.Count];
        var statistics = new double[Resamples];
        for (var i = 0; i < Resamples; i++) statistics[i] = ResampledMedian(sample, buffer, rng);
        return Interval(Statistics.Median(sample), statistics, sample.Count);
    }

    /// <summary>median(numerator) / median(denominator): a slowdown when the denominator is the baseline's times.
    /// The two samples are resampled independently (they are separate runs).</summary>
    public Estimate RatioOfMedians(IReadOnlyList<double> numerator, IReadOnlyList<double> denominator, string key)
    {
        Require(numerator, nameof(numerator));
        Require(denominator, nameof(denominator));
        var rng = RandomFor(key);
        var bufN = new double[numerator.Count];
        var bufD = new double[denominator.Count];
        var statistics = new double[Resamples];
        for (var i = 0; i < Resamples; i++)
            statistics[i] = ResampledMedian(numerator, bufN, rng) / ResampledMedian(denominator, bufD, rng);
        return Interval(Statistics.Median(numerator) / Statistics.Median(denominator), statistics, numerator.Count);
    }

    /// <summary>The geometric mean over workloads of each workload's ratio of medians; every workload's two samples
    /// are resampled in each bootstrap round. The count is the number of workloads.</summary>
    public Estimate GeometricMeanOfRatios(IReadOnlyList<(IReadOnlyList<double> Numerator, IReadOnlyList<double> Denominator)> pairs, string key)
    {
        if (pairs.Count == 0) throw new ArgumentException("no workloads to average", nameof(pairs));
        foreach (var (n, d) in pairs)
        {
            Require(n, nameof(pairs));
            Require(d, nameof(pairs));
        }
        var rng = RandomFor(key);
        var buffers = pairs.Select(p => (N: new double[p.Numerator.Count], D: new double[p.Denominator.Count])).ToArray();
        var ratios = new double[pairs.Count];
        var statistics = new double[Resamples];
        for (var i = 0; i < Resamples; i++)
        {
            for (var w = 0; w < pairs.Count; w++)
                ratios[w] = ResampledMedian(pairs[w].Numerator, buffers[w].N, rng) / ResampledMedian(pairs[w].Denominator, buffers[w].D, rng);
            statistics[i] = Statistics.GeometricMean(ratios);
        }
        var point = Statistics.GeometricMean(pairs.Select(p => Statistics.Median(p.Numerator) / Statistics.Median(p.Denominator)));
        return Interval(point, statistics, pairs.Count);
    }

    /// <summary>The geometric mean over groups of each group's median (e.g. MIPS across workloads), with its interval.</summary>
    public Estimate GeometricMeanOfMedians(IReadOnlyList<IReadOnlyList<double>> samples, string key) =>
        GeometricMeanOfRatios(samples.Select(s => (s, (IReadOnlyList<double>)[1.0])).ToList(), key);

    private Estimate Interval(double point, double[] statistics, int count)
    {
        Array.Sort(statistics);
        return new Estimate(
            point,
            SortedArrayStatistics.Quantile(statistics, _lowQuantile),
            SortedArrayStatistics.Quantile(statistics, _highQuantile),
            count);
    }

    private static double ResampledMedian(IReadOnlyList<double> sample, double[] buffer, Random rng)
    {
        for (var j = 0; j < buffer.Length; j++) buffer[j] = sample[rng.Next(sample.Count)];
        return ArrayStatistics.MedianInplace(buffer);
    }

    private Random RandomFor(string key)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        var keySeed = BitConverter.ToInt32(hash, 0);
        return new MersenneTwister(seed ^ keySeed, threadSafe: false);
    }

    private static void Require(IReadOnlyList<double> sample, string name)
    {
        if (sample.Count == 0) throw new ArgumentException("an empty sample has no median", name);
    }
}
