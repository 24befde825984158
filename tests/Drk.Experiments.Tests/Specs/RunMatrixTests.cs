using Drk.Experiments.Matrix;
using Drk.Experiments.Specs;
using Drk.Experiments.Tests.Fakes;

namespace Drk.Experiments.Tests.Specs;

public sealed class RunMatrixTests : IDisposable
{
    private readonly TempExperiment _repo = new();

    public void Dispose() => _repo.Dispose();

    [Fact]
    public void Rounds_hold_every_cell_once_in_a_shuffled_order_that_a_seed_fixes()
    {
        var spec = SpecLoader.Load(_repo.WriteSpec("small",
            Fakes.Specs.Small.Replace("workloads: [alpha, beta]", "workloads: [a, b, c, d, e, f, g, h]", StringComparison.Ordinal)));
        var matrix = RunMatrix.Expand(spec);
        var cells = matrix.CellCount;
        Assert.Equal(3 * 8, cells);

        // Warm-ups first, then repetition 1, 2, 3: each a permutation of the cells.
        var rounds = matrix.Runs.Chunk(cells).ToList();
        Assert.Equal(1 + 3, rounds.Count);
        Assert.All(rounds[0], r => Assert.True(r.Warmup));
        for (var i = 0; i < rounds.Count; i++)
        {
            Assert.All(rounds[i], r => Assert.Equal(i == 0 ? 1 : i, r.Index));
            Assert.Equal(Enumerable.Range(0, cells), rounds[i].Select(r => r.Cell).Order());
        }
        // Not spec order, and not the same order every round (24! orders: a coincidence is out of the question).
        var orders = rounds.Select(r => string.Join(',', r.Select(x => x.Cell))).ToList();
        Assert.DoesNotContain(string.Join(',', Enumerable.Range(0, cells)), orders);
        Assert.Equal(orders.Count, orders.Distinct().Count());
        // The same spec gives the same order; another seed another.
        Assert.Equal(matrix.Runs.Select(r => r.Key), RunMatrix.Expand(spec).Runs.Select(r => r.Key));
        Assert.NotEqual(matrix.Runs.Select(r => r.Key), RunMatrix.Expand(spec with { Seed = spec.Seed + 1 }).Runs.Select(r => r.Key));
    }
}
