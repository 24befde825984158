namespace Drk.Experiments.Analysis;

/// <summary>A point estimate with its confidence interval and the number of observations behind it.</summary>
public readonly record struct Estimate(double Value, double Low, double High, int Count)
{
    /// <summary>Whether <paramref name="x"/> lies inside the interval (bounds included).</summary>
    public bool Contains(double x) => Low <= x && x <= High;
}
