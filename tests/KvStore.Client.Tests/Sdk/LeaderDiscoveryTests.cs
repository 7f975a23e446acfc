using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Sdk;

public sealed class LeaderDiscoveryTests
{
    [Fact]
    public async Task A_put_sent_to_a_follower_follows_its_hint_to_the_leader_and_later_calls_go_straight_there()
    {
        var store = new FakeStore();
        await using var n1 = new ScriptedMember("n1");
        await using var n2 = new ScriptedMember("n2");
        await using var n3 = new ScriptedMember("n3");
        n3.Behaviour = Answers.Leader(store);
        n1.Behaviour = Answers.Follower(n3.Endpoint);
        n2.Behaviour = Answers.Follower(n3.Endpoint);
        await using var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = [n1.Endpoint, n2.Endpoint, n3.Endpoint] });

        var first = await client.PutAsync("a", "1").WaitAsync(Answers.HangGuard);
        await client.PutAsync("b", "2").WaitAsync(Answers.HangGuard);
        var read = await client.GetAsync("a").WaitAsync(Answers.HangGuard);

        Assert.Equal(n3.Endpoint, client.Leader);
        Assert.Equal(1, n1.Count(FrameType.PutRequest));
        Assert.Equal(0, n2.Count(FrameType.PutRequest));
        Assert.Equal(2, n3.Count(FrameType.PutRequest));
        Assert.Equal(0, n1.Count(FrameType.RangeRequest));
        Assert.Equal(2, first.Header.Revision);
        Assert.Equal("1", read!.ValueString);
        Assert.Equal(2, store.AppliedWrites);
    }

    [Fact]
    public async Task Without_hints_the_client_tries_each_endpoint_in_turn_until_one_serves()
    {
        var store = new FakeStore();
        await using var n1 = new ScriptedMember("n1");
        await using var n2 = new ScriptedMember("n2");
        await using var n3 = new ScriptedMember("n3");
        n1.Behaviour = Answers.Follower(null);
        n2.Behaviour = Answers.Follower(null);
        n3.Behaviour = Answers.Leader(store);
        await using var client = new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = [n1.Endpoint, n2.Endpoint, n3.Endpoint],
            RetryBackoffMin = TimeSpan.FromMilliseconds(1),
            RetryBackoffMax = TimeSpan.FromMilliseconds(5),
        });

        await client.PutAsync("k", "v").WaitAsync(Answers.HangGuard);

        Assert.Equal(1, n1.Count(FrameType.PutRequest));
        Assert.Equal(1, n2.Count(FrameType.PutRequest));
        Assert.Equal(1, n3.Count(FrameType.PutRequest));
        Assert.Equal(n3.Endpoint, client.Leader);
    }

    [Fact]
    public async Task When_the_leader_steps_down_the_client_follows_the_redirect_to_the_new_leader()
    {
        var store = new FakeStore();
        await using var n1 = new ScriptedMember("n1");
        await using var n2 = new ScriptedMember("n2");
        n1.Behaviour = Answers.Leader(store);
        n2.Behaviour = Answers.Follower(n1.Endpoint);
        await using var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = [n1.Endpoint, n2.Endpoint] });
        await client.PutAsync("k", "1").WaitAsync(Answers.HangGuard);
        Assert.Equal(n1.Endpoint, client.Leader);

        // Leadership moves to n2: n1 now redirects there.
        n2.Behaviour = Answers.Leader(store);
        n1.Behaviour = Answers.Follower(n2.Endpoint);
        var result = await client.PutAsync("k", "2", new PutOptions { PrevKv = true }).WaitAsync(Answers.HangGuard);

        Assert.Equal(n2.Endpoint, client.Leader);
        Assert.Equal("1", result.PrevKv!.ValueString);
        Assert.Equal(1, n2.Count(FrameType.PutRequest));
        Assert.Equal(2, store.AppliedWrites);
    }

    [Fact]
    public async Task A_dead_endpoint_is_skipped()
    {
        var store = new FakeStore();
        await using var live = new ScriptedMember("live");
        live.Behaviour = Answers.Leader(store);
        string dead;
        await using (var gone = new ScriptedMember("gone"))
        {
            dead = gone.Endpoint;
        }

        await using var client = new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = [dead, live.Endpoint],
            RetryBackoffMin = TimeSpan.FromMilliseconds(1),
            RetryBackoffMax = TimeSpan.FromMilliseconds(5),
        });

        await client.PutAsync("k", "v").WaitAsync(Answers.HangGuard);

        Assert.Equal(1, store.AppliedWrites);
        Assert.Equal(live.Endpoint, client.Leader);
    }

    [Fact]
    public async Task Status_of_a_named_endpoint_asks_that_member_and_no_other()
    {
        await using var n1 = new ScriptedMember("n1");
        await using var n2 = new ScriptedMember("n2");
        n1.Behaviour = (_, _, _) => ValueTask.FromResult<Google.Protobuf.IMessage>(new StatusResponse { Name = "n1", Leader = 2, RaftTerm = 4 });
        n2.Behaviour = (_, _, _) => ValueTask.FromResult<Google.Protobuf.IMessage>(new StatusResponse
        {
            Name = "n2", IsLeader = true, Leader = 2, RaftTerm = 4, RaftCommitIndex = 10, RaftAppliedIndex = 9, DbSizeBytes = 4096,
            Header = new ResponseHeader { MemberId = 2, Revision = 17 },
        });
        await using var client = new KvStoreClient(n1.Endpoint, n2.Endpoint);

        var status = await client.StatusAsync(n2.Endpoint).WaitAsync(Answers.HangGuard);

        Assert.Equal(0, n1.Count(FrameType.StatusRequest));
        Assert.Equal(("n2", true, 4UL, 10UL, 9UL, 17L, 4096L, 2UL),
            (status.Name, status.IsLeader, status.RaftTerm, status.CommitIndex, status.AppliedIndex, status.Revision, status.DbSizeBytes, status.MemberId));
        Assert.Equal(n2.Endpoint, status.Endpoint);
    }

    [Fact]
    public async Task Status_without_an_endpoint_names_the_member_that_actually_answered()
    {
        string dead;
        await using (var gone = new ScriptedMember("gone"))
        {
            dead = gone.Endpoint;
        }

        await using var live = new ScriptedMember("live");
        live.Behaviour = (_, _, _) => ValueTask.FromResult<Google.Protobuf.IMessage>(new StatusResponse { Name = "live" });
        await using var client = new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = [dead, live.Endpoint],
            RetryBackoffMin = TimeSpan.FromMilliseconds(1),
            RetryBackoffMax = TimeSpan.FromMilliseconds(5),
        });

        var status = await client.StatusAsync().WaitAsync(Answers.HangGuard);

        Assert.Equal((live.Endpoint, "live"), (status.Endpoint, status.Name));
    }

    [Fact]
    public async Task A_leader_that_stops_answering_is_abandoned_after_the_attempt_timeout_and_the_write_lands_once_elsewhere()
    {
        var store = new FakeStore();
        await using var cutOff = new ScriptedMember("old-leader");
        await using var next = new ScriptedMember("new-leader");
        cutOff.Behaviour = Answers.Silent();
        next.Behaviour = Answers.Leader(store);
        await using var client = new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = [cutOff.Endpoint, next.Endpoint],
            AttemptTimeout = TimeSpan.FromMilliseconds(100),
            RequestTimeout = TimeSpan.FromSeconds(10),
        });

        await client.PutAsync("k", "v").WaitAsync(Answers.HangGuard);

        var first = (PutRequest)cutOff.Received.Single().Request;
        var second = (PutRequest)next.Received.Single().Request;
        Assert.Equal(first.Session, second.Session);
        Assert.Equal(1, store.AppliedWrites);
        Assert.Equal(next.Endpoint, client.Leader);
    }
}
