using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Sdk;

public sealed class SessionTests
{
    private static Session SessionOf(IMessage request) =>
        (Session)request.Descriptor.FindFieldByNumber(100).Accessor.GetValue(request);

    [Fact]
    public async Task An_expired_session_fails_that_write_and_the_next_write_starts_a_fresh_session()
    {
        var store = new FakeStore();
        await using var member = new ScriptedMember("n1");
        int writes = 0;
        member.Behaviour = (type, request, _) => Interlocked.Increment(ref writes) == 2
            ? throw new KvStoreProtocolException(ErrorCode.SessionExpired, "session expired")
            : ValueTask.FromResult(store.Apply(type, request));
        await using var client = new KvStoreClient(member.Endpoint);

        await client.PutAsync("k", "1").WaitAsync(Answers.HangGuard);
        var error = await Assert.ThrowsAsync<KvStoreProtocolException>(() => client.PutAsync("k", "2").WaitAsync(Answers.HangGuard));
        await client.PutAsync("k", "3").WaitAsync(Answers.HangGuard);

        var sessions = member.Received.Select(r => SessionOf(r.Request)).ToArray();
        Assert.Equal(ErrorCode.SessionExpired, error.Code);
        Assert.Equal(3, sessions.Length);
        Assert.Equal(sessions[0].ClientId, sessions[1].ClientId);
        Assert.Equal(2UL, sessions[1].Sequence);
        Assert.NotEqual(sessions[0].ClientId, sessions[2].ClientId);
        Assert.Equal(1UL, sessions[2].Sequence);
    }

    [Fact]
    public async Task Writes_beyond_MaxConcurrentWrites_wait_for_a_session_instead_of_overlapping()
    {
        var store = new FakeStore();
        await using var member = new ScriptedMember("n1");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        member.Behaviour = async (type, request, token) =>
        {
            await release.Task.WaitAsync(token);
            return store.Apply(type, request);
        };
        await using var client = new KvStoreClient(new KvStoreClientOptions { Endpoints = [member.Endpoint], MaxConcurrentWrites = 2 });

        var writes = Enumerable.Range(0, 5).Select(i => client.PutAsync($"k{i}", "v")).ToArray();
        while (member.Received.Count < 2)
        {
            await Task.Delay(5).WaitAsync(Answers.HangGuard);
        }

        // Two sessions are busy; the other three writes have not been sent.
        await Task.Delay(100);
        int sentWhileBlocked = member.Received.Count;
        release.SetResult();
        await Task.WhenAll(writes).WaitAsync(Answers.HangGuard);

        var clientIds = member.Received.Select(r => SessionOf(r.Request).ClientId).Distinct().ToArray();
        Assert.Equal(2, sentWhileBlocked);
        Assert.Equal(2, clientIds.Length);
        Assert.Equal(5, store.AppliedWrites);
    }
}
