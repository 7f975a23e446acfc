using System.Text;
using KvStore.Raft.Core;
using KvStore.Raft.Host;

namespace KvStore.Raft.Tests.Host;

public sealed class RaftHostTests
{
    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public async Task Three_nodes_elect_leaders_and_commit_proposals_in_several_groups()
    {
        using var cluster = new HostCluster(3);
        ulong[] groups = [10, 11, 12, 13];
        foreach (ulong g in groups)
        {
            await cluster.AddGroupEverywhereAsync(g);
        }

        // Leaders spread over the nodes; each group then commits proposals made at its leader.
        foreach (ulong g in groups)
        {
            await cluster.ElectAsync(g, g % 3 + 1);
        }

        var proposals = new List<Task<object?>>();
        foreach (ulong g in groups)
        {
            var leader = cluster.Host(g % 3 + 1);
            for (int i = 0; i < 25; i++)
            {
                proposals.Add(leader.ProposeAsync(g, Bytes($"g{g}-v{i}")));
            }
        }

        await HostCluster.Within(Task.WhenAll(proposals));

        foreach (ulong g in groups)
        {
            var expected = Enumerable.Range(0, 25).Select(i => $"g{g}-v{i}").ToArray();
            await HostCluster.WaitUntilAsync(
                () => cluster.NodeIds.All(n => cluster.StateMachines[(n, g)].Commands.Count == 25),
                $"every replica of group {g} to apply 25 commands");
            foreach (ulong n in cluster.NodeIds)
            {
                Assert.Equal(expected, cluster.StateMachines[(n, g)].Commands);
            }
        }

        // The result of each proposal is its position in the group's command sequence.
        var results = proposals.Select(p => (long)p.Result!).ToList();
        for (int gi = 0; gi < groups.Length; gi++)
        {
            Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), results.Skip(gi * 25).Take(25));
        }
    }

    [Fact]
    public async Task A_proposal_to_a_follower_fails_with_not_leader_naming_the_leader()
    {
        using var cluster = new HostCluster(3);
        await cluster.AddGroupEverywhereAsync(1);
        await cluster.ElectAsync(1, 2);

        var error = await Assert.ThrowsAsync<NotLeaderException>(() => cluster.Host(3).ProposeAsync(1, Bytes("x")));

        Assert.Equal(2UL, error.LeaderId);
        Assert.Equal(1UL, error.Group);
        Assert.Contains("node 2", error.Message);
    }

    [Fact]
    public async Task With_forwarding_a_proposal_to_a_follower_is_applied_and_answered_there()
    {
        using var cluster = new HostCluster(3, id => HostCluster.DefaultOptions(id) with { ForwardProposals = true });
        await cluster.AddGroupEverywhereAsync(1);
        await cluster.ElectAsync(1, 1);

        object? result = await cluster.Host(3).ProposeAsync(1, Bytes("forwarded"));

        Assert.Equal(1L, result);
        Assert.Equal(["forwarded"], cluster.StateMachines[(3, 1)].Commands);
    }

    [Fact]
    public async Task Proposals_to_an_unknown_group_fail_with_group_not_found()
    {
        using var cluster = new HostCluster(1);
        var error = await Assert.ThrowsAsync<GroupNotFoundException>(() => cluster.Host(1).ProposeAsync(99, Bytes("x")));
        Assert.Equal(99UL, error.Group);
    }

    [Fact]
    public async Task A_removed_group_refuses_proposals_and_its_state_is_erased()
    {
        using var cluster = new HostCluster(3);
        await cluster.AddGroupEverywhereAsync(1);
        await cluster.AddGroupEverywhereAsync(2);
        await cluster.ElectAsync(1, 1);
        await cluster.Host(1).ProposeAsync(1, Bytes("kept"));
        await cluster.ElectAsync(2, 1);
        await cluster.Host(1).ProposeAsync(2, Bytes("erased"));

        await HostCluster.Within(cluster.Host(1).RemoveGroupAsync(2, deleteState: true));

        await Assert.ThrowsAsync<GroupNotFoundException>(() => cluster.Host(1).ProposeAsync(2, Bytes("x")));
        Assert.DoesNotContain(2UL, cluster.Stores[1].Groups);
        Assert.Null(cluster.Snapshots[1].Load(2));
        // Other groups on the node carry on.
        Assert.Equal(2L, await HostCluster.Within(cluster.Host(1).ProposeAsync(1, Bytes("still"))));
    }

    [Fact]
    public async Task A_cancelled_proposal_completes_as_cancelled()
    {
        using var cluster = new HostCluster(3);
        await cluster.AddGroupEverywhereAsync(1);
        await cluster.ElectAsync(1, 1);
        cluster.Transport.Isolate(1);
        using var cancel = new CancellationTokenSource();

        var proposal = cluster.Host(1).ProposeAsync(1, Bytes("never"), cancel.Token);
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => proposal);
    }

    [Fact]
    public async Task Read_index_completes_after_every_acknowledged_write_is_applied_locally()
    {
        using var cluster = new HostCluster(3);
        await cluster.AddGroupEverywhereAsync(5);
        await cluster.ElectAsync(5, 1);
        for (int i = 0; i < 10; i++)
        {
            await cluster.Host(1).ProposeAsync(5, Bytes($"w{i}"));
        }

        long readIndex = await cluster.Host(1).ReadIndexAsync(5);

        Assert.True(cluster.StateMachines[(1, 5)].AppliedIndex >= readIndex);
        Assert.Equal(10, cluster.StateMachines[(1, 5)].Commands.Count);
    }

    [Fact]
    public async Task A_proposal_that_cannot_commit_times_out()
    {
        using var cluster = new HostCluster(3, id => HostCluster.DefaultOptions(id) with { ProposalTimeout = TimeSpan.FromMilliseconds(300) });
        await cluster.AddGroupEverywhereAsync(1);
        await cluster.ElectAsync(1, 1);
        // The leader alone cannot reach a quorum.
        cluster.Transport.Isolate(1);

        await Assert.ThrowsAsync<TimeoutException>(() => cluster.Host(1).ProposeAsync(1, Bytes("lost")));
    }

    [Fact]
    public async Task Proposals_to_many_groups_in_one_iteration_cost_exactly_one_sync()
    {
        const int groups = 16;
        using var cluster = new HostCluster(3, id => HostCluster.DefaultOptions(id) with { RunLoopThread = false });
        var setup = new List<Task>();
        for (ulong g = 1; g <= groups; g++)
        {
            foreach (ulong id in cluster.NodeIds)
            {
                setup.Add(cluster.AddGroupAsync(id, g));
            }

            setup.Add(cluster.Host(1).CampaignAsync(g));
        }

        RunUntil(cluster, () => setup.All(t => t.IsCompleted));
        await Task.WhenAll(setup);

        RunUntil(cluster, () => Enumerable.Range(1, groups).All(g => cluster.Host(1).GetStatus((ulong)g).Role == RaftRole.Leader
                                                                 && cluster.Host(1).GetStatus((ulong)g).Commit >= 1));
        // Let every follow-up (commit notifications, no-op applies) settle.
        RunUntilQuiet(cluster);

        var store = cluster.Stores[1];
        var lastBefore = Enumerable.Range(1, groups).Select(g => store.LastIndex((ulong)g)).ToArray();
        var proposals = Enumerable.Range(1, groups)
            .SelectMany(g => Enumerable.Range(0, 3).Select(i => cluster.Host(1).ProposeAsync((ulong)g, Bytes($"g{g}-{i}"))))
            .ToList();
        long syncsBefore = store.SyncCount;

        cluster.Host(1).ProcessIteration(tick: false);

        Assert.Equal(1, store.SyncCount - syncsBefore);
        for (int g = 1; g <= groups; g++)
        {
            Assert.Equal(lastBefore[g - 1] + 3, store.LastIndex((ulong)g));
        }

        RunUntil(cluster, () => proposals.All(p => p.IsCompleted));
        Assert.All(proposals, p => Assert.True(p.IsCompletedSuccessfully));
    }

    [Fact]
    public async Task A_restarted_host_recovers_its_groups_from_the_same_log_store()
    {
        using var cluster = new HostCluster(3, id => HostCluster.DefaultOptions(id) with { SnapshotEveryEntries = 7, CompactionRetainEntries = 2 });
        await cluster.AddGroupEverywhereAsync(1);
        await cluster.AddGroupEverywhereAsync(2);
        await cluster.ElectAsync(1, 1);
        await cluster.ElectAsync(2, 1);
        for (int i = 0; i < 20; i++)
        {
            await cluster.Host(1).ProposeAsync(1, Bytes($"a{i}"));
            await cluster.Host(1).ProposeAsync(2, Bytes($"b{i}"));
        }

        await HostCluster.WaitUntilAsync(() => cluster.StateMachines[(3, 1)].Commands.Count == 20 && cluster.StateMachines[(3, 2)].Commands.Count == 20,
            "node 3 to apply everything");
        Assert.True(cluster.Stores[3].FirstIndex(1) > 1, "node 3 should have compacted its log after snapshots");

        cluster.StopHost(3);
        cluster.Stores[3].Crash();
        cluster.StartHost(3);
        await HostCluster.Within(cluster.AddGroupAsync(3, 1));
        await HostCluster.Within(cluster.AddGroupAsync(3, 2));

        var restarted = cluster.StateMachines[(3, 1)];
        Assert.Equal(1, restarted.RestoreCount);
        await HostCluster.Within(cluster.Host(1).ProposeAsync(1, Bytes("after-restart")));
        await HostCluster.WaitUntilAsync(() => restarted.Commands.Count == 21, "the restarted node to catch up");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"a{i}").Append("after-restart"), restarted.Commands);
        await HostCluster.WaitUntilAsync(() => cluster.StateMachines[(3, 2)].Commands.Count == 20, "group 2 to replay on the restarted node");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"b{i}"), cluster.StateMachines[(3, 2)].Commands);
    }

    [Fact]
    public async Task Membership_changes_through_the_host_complete_with_the_new_configuration()
    {
        using var cluster = new HostCluster(4);
        // Node 4 is not an initial member: it knows the group's bootstrap voters and waits for the leader.
        foreach (ulong id in new ulong[] { 1, 2, 3 })
        {
            var sm = new CommandLogStateMachine();
            cluster.StateMachines[(id, 1)] = sm;
            await cluster.Host(id).AddGroupAsync(1, [1, 2, 3], sm);
        }

        var joiner = new CommandLogStateMachine();
        cluster.StateMachines[(4, 1)] = joiner;
        await cluster.Host(4).AddGroupAsync(1, [1, 2, 3], joiner);
        await HostCluster.WaitUntilAsync(() => cluster.NodeIds.Take(3).Any(id => cluster.Host(id).GetStatus(1).Role == RaftRole.Leader), "a leader");
        await cluster.ElectAsync(1, 1, [1, 2, 3]);
        await cluster.Host(1).ProposeAsync(1, Bytes("before"));

        var conf = await cluster.Host(1).ProposeConfChangeAsync(1, new ConfChange { Changes = [new ConfChangeSingle(ConfChangeType.AddVoter, 4)] });

        Assert.Contains(4UL, conf.Voters);
        await cluster.Host(1).ProposeAsync(1, Bytes("after"));
        await HostCluster.WaitUntilAsync(() => joiner.Commands.Count == 2, "the new voter to catch up");
        Assert.Equal(["before", "after"], joiner.Commands);
    }

    private static void RunUntil(HostCluster cluster, Func<bool> condition)
    {
        for (int round = 0; round < 10_000; round++)
        {
            if (condition())
            {
                return;
            }

            foreach (ulong id in cluster.NodeIds)
            {
                cluster.Host(id).ProcessIteration(tick: round % 4 == 0);
            }
        }

        throw new InvalidOperationException("the cluster did not reach the expected state within 10,000 manual rounds");
    }

    private static void RunUntilQuiet(HostCluster cluster)
    {
        for (int round = 0; round < 1_000; round++)
        {
            bool any = false;
            foreach (ulong id in cluster.NodeIds)
            {
                any |= cluster.Host(id).ProcessIteration(tick: false);
            }

            if (!any)
            {
                return;
            }
        }
    }
}
