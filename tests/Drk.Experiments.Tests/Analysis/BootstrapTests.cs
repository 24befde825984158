using Drk.Experiments.Analysis;
using MathNet.Numerics.Distributions;
using MathNet.Numerics.Random;

namespace Drk.Experiments.Tests.Analysis;

public sealed class BootstrapTests
{
    private readonly Bootstrap _bootstrap = new(resamples: 2000, seed: 42);

    [Fact]
    public void Median_of_odd_and_even_samples()
    {
        Assert.Equal(3, _bootstrap.Median([5, 1, 3, 2, 4], "odd").Value);
        Assert.Equal(2.5, _bootstrap.Median([4, 1, 3, 2], "even").Value);
    }

    [Fact]
    public void A_constant_sample_has_a_zero_width_interval()
    {
        var e = _bootstrap.Median([7, 7, 7, 7], "constant");

        Assert.Equal(new Estimate(7, 7, 7, 4), e);
    }

    [Fact]
    public void Geometric_mean_of_known_ratios()
    {
        // Ratios 1, 2, 4, 8: geometric mean 2^1.5.
        var pairs = new (IReadOnlyList<double>, IReadOnlyList<double>)[]
        {
            ([3, 3, 3], [3, 3]),
            ([4, 4], [2, 2, 2]),
            ([8], [2]),
            ([16, 16], [2, 2]),
        };

        var e = _bootstrap.GeometricMeanOfRatios(pairs, "known");

        Assert.Equal(Math.Pow(2, 1.5), e.Value, 12);
        Assert.Equal(e.Value, e.Low, 12);
        Assert.Equal(e.Value, e.High, 12);
        Assert.Equal(4, e.Count);
    }

    [Fact]
    public void Ratio_of_medians_is_the_slowdown()
    {
        var e = _bootstrap.RatioOfMedians([3.0, 3.3, 2.7], [1.0, 1.1, 0.9], "ratio");

        Assert.Equal(3.0, e.Value, 12);
        Assert.True(e.Low <= 3.0 && 3.0 <= e.High);
    }

    [Fact]
    public void The_interval_of_a_median_contains_the_true_median()
    {
        var sample = Normal.Samples(new MersenneTwister(1), mean: 10, stddev: 1).Take(101).ToList();

        var e = _bootstrap.Median(sample, "normal");

        Assert.True(e.Contains(10), $"95% interval {e.Low}..{e.High} misses 10");
        Assert.True(e.High - e.Low < 0.8, $"interval {e.Low}..{e.High} is implausibly wide for n=101");
    }

    [Fact]
    public void Intervals_cover_the_true_median_about_95_percent_of_the_time()
    {
        // 200 data sets of 41 log-normal draws (skewed, like run times): true median e^0 = 1.
        var rng = new MersenneTwister(2);
        var covered = 0;
        for (var i = 0; i < 200; i++)
        {
            var sample = LogNormal.Samples(rng, 0, 0.3).Take(41).ToList();
            if (_bootstrap.Median(sample, $"set {i}").Contains(1.0)) covered++;
        }

        Assert.InRange(covered, 176, 200); // >= 88%: the percentile bootstrap of a median is slightly liberal at this size
    }

    [Fact]
    public void Intervals_are_deterministic_for_a_seed_and_key()
    {
        double[] sample = [1.2, 0.9, 1.4, 1.1, 1.0, 1.3, 0.8];

        var a = new Bootstrap(1000, seed: 5).Median(sample, "k");
        var b = new Bootstrap(1000, seed: 5).Median(sample, "k");
        var slowdownA = new Bootstrap(1000, seed: 5).RatioOfMedians(sample, [1.0, 1.1, 0.9], "s");
        var slowdownB = new Bootstrap(1000, seed: 5).RatioOfMedians(sample, [1.0, 1.1, 0.9], "s");

        Assert.Equal(a, b);
        Assert.Equal(slowdownA, slowdownB);
        Assert.True(a.Contains(1.1));
    }
}
