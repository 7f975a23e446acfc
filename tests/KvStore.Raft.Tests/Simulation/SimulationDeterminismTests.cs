namespace KvStore.Raft.Tests.Simulation;

public sealed class SimulationDeterminismTests
{
    [Theory]
    [InlineData(3, 0, false)]
    [InlineData(5, 0, false)]
    [InlineData(3, 2, false)]
    [InlineData(3, 0, true)]
    public void The_same_seed_replays_the_identical_trace(int nodes, int spares, bool realLogStore)
    {
        for (ulong seed = 1; seed <= 20; seed++)
        {
            var options = new SimulationOptions { Seed = seed, Nodes = nodes, SpareNodes = spares, MembershipChanges = spares > 0, RealLogStore = realLogStore };
            var first = new Simulator(options).Run();
            var second = new Simulator(options).Run();

            Assert.Equal(first, second);
        }
    }

    [Fact]
    public void Different_seeds_explore_different_histories()
    {
        var hashes = Enumerable.Range(1, 20)
            .Select(seed => new Simulator(new SimulationOptions { Seed = (ulong)seed }).Run().TraceHash)
            .ToHashSet();

        Assert.Equal(20, hashes.Count);
    }
}
