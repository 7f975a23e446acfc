using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Sdk;

public sealed class RetryTests
{
    private static Session SessionOf(IMessage request) =>
        (Session)request.Descriptor.FindFieldByNumber(100).Accessor.GetValue(request);

    [Fact]
    public async Task A_put_whose_connection_dropped_is_retried_with_the_same_session_and_applied_once()
    {
        var store = new FakeStore();
        await using var member = new ScriptedMember("n1");
        await using var relay = new TcpRelay(member.Endpoint);
        int puts = 0;
        member.Behaviour = (type, request, token) =>
        {
            var answer = store.Apply(type, request);
            if (type == FrameType.PutRequest && Interlocked.Increment(ref puts) == 1)
            {
                // Applied, but the answer is lost with the connection.
                relay.CutAll();
            }

            return ValueTask.FromResult(answer);
        };
        await using var client = new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = [relay.Endpoint],
            RetryBackoffMin = TimeSpan.FromMilliseconds(1),
            RetryBackoffMax = TimeSpan.FromMilliseconds(5),
        });

        var result = await client.PutAsync("counter", "1").WaitAsync(Answers.HangGuard);

        var sent = member.Received.Where(r => r.Type == FrameType.PutRequest).Select(r => SessionOf(r.Request)).ToArray();
        Assert.Equal(2, sent.Length);
        Assert.Equal(sent[0], sent[1]);
        Assert.NotEqual(0UL, sent[0].ClientId);
        Assert.Equal(1, store.AppliedWrites);
        Assert.Equal(2, result.Header.Revision);
        Assert.True(relay.Accepted >= 2);
    }

    [Fact]
    public async Task Successive_writes_of_one_client_carry_increasing_sequences_and_reads_carry_no_session()
    {
        var store = new FakeStore();
        await using var member = new ScriptedMember("n1");
        member.Behaviour = Answers.Leader(store);
        await using var client = new KvStoreClient(member.Endpoint);

        await client.PutAsync("a", "1").WaitAsync(Answers.HangGuard);
        await client.DeleteAsync("a").WaitAsync(Answers.HangGuard);
        await client.PutAsync("a", "2").WaitAsync(Answers.HangGuard);
        await client.GetAsync("a").WaitAsync(Answers.HangGuard);

        var writes = member.Received.Where(r => r.Type != FrameType.RangeRequest).Select(r => SessionOf(r.Request)).ToArray();
        Assert.Equal([1UL, 2UL, 3UL], writes.Select(s => s.Sequence));
        Assert.All(writes, s => Assert.Equal(client.ClientId, s.ClientId));
        Assert.Null(SessionOf(member.Received.Single(r => r.Type == FrameType.RangeRequest).Request));
    }

    [Fact]
    public async Task Overlapping_writes_use_separate_sessions_so_none_is_stale()
    {
        var store = new FakeStore();
        await using var member = new ScriptedMember("n1");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int arrived = 0;
        var bothArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        member.Behaviour = async (type, request, token) =>
        {
            if (Interlocked.Increment(ref arrived) == 2)
            {
                bothArrived.SetResult();
            }

            await release.Task.WaitAsync(token);
            return store.Apply(type, request);
        };
        await using var client = new KvStoreClient(member.Endpoint);

        var first = client.PutAsync("a", "1");
        var second = client.PutAsync("b", "2");
        await bothArrived.Task.WaitAsync(Answers.HangGuard);
        release.SetResult();
        await Task.WhenAll(first, second).WaitAsync(Answers.HangGuard);

        var sessions = member.Received.Select(r => SessionOf(r.Request)).ToArray();
        Assert.NotEqual(sessions[0].ClientId, sessions[1].ClientId);
        Assert.All(sessions, s => Assert.Equal(1UL, s.Sequence));
        Assert.Equal(2, store.AppliedWrites);
    }

    [Fact]
    public async Task Unavailable_is_retried_until_the_member_serves()
    {
        var store = new FakeStore();
        await using var member = new ScriptedMember("n1");
        int attempts = 0;
        member.Behaviour = (type, request, _) =>
            Interlocked.Increment(ref attempts) <= 3
                ? throw new KvStoreProtocolException(ErrorCode.Unavailable, "no leader yet")
                : ValueTask.FromResult(store.Apply(type, request));
        await using var client = new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = [member.Endpoint],
            RetryBackoffMin = TimeSpan.FromMilliseconds(1),
            RetryBackoffMax = TimeSpan.FromMilliseconds(5),
        });

        await client.PutAsync("k", "v").WaitAsync(Answers.HangGuard);

        Assert.Equal(4, attempts);
        Assert.Equal(1, store.AppliedWrites);
        var sequences = member.Received.Select(r => SessionOf(r.Request).Sequence).Distinct();
        Assert.Equal([1UL], sequences);
    }
}
