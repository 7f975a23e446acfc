using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Sdk;

/// <summary>client.Locks against a scripted member: held calls, final timeouts, release, the fence condition.</summary>
public sealed class LockClientTests
{
    [Fact]
    public async Task A_lock_wait_longer_than_the_request_timeouts_is_not_cut_short_or_retried()
    {
        await using var member = new ScriptedMember("n1");
        member.Behaviour = async (type, request, ct) =>
        {
            // The lock is busy for longer than the client's attempt and request timeouts.
            await Task.Delay(TimeSpan.FromMilliseconds(900), ct);
            return new LockResponse { Header = new ResponseHeader { Revision = 9 }, Key = Answers.B("jobs/00000000000000ab"), FencingToken = 7 };
        };
        await using var client = new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = [member.Endpoint],
            AttemptTimeout = TimeSpan.FromMilliseconds(200),
            RequestTimeout = TimeSpan.FromMilliseconds(300),
        });

        LockHandle held = await client.Locks.AcquireLockAsync("jobs", 0xab, timeout: TimeSpan.FromSeconds(5)).WaitAsync(Answers.HangGuard);

        Assert.Equal(7, held.FencingToken);
        Assert.Equal("jobs/00000000000000ab", held.Key);
        Assert.Equal(0xab, held.Lease);
        Assert.Equal(1, member.Count(FrameType.LockRequest));
        var sent = (LockRequest)member.Received.Single(r => r.Type == FrameType.LockRequest).Request;
        Assert.Equal(5000, sent.TimeoutMs);
        Assert.Equal(0xab, sent.Lease);
        Assert.NotEqual(0UL, sent.Session.ClientId);
    }

    [Fact]
    public async Task A_server_timeout_of_a_lock_wait_is_final()
    {
        await using var member = new ScriptedMember("n1");
        member.Behaviour = (type, request, ct) => type == FrameType.LockRequest
            ? throw KvStoreProtocolException.FromError(Error.Create(ErrorCode.Timeout, "lock \"jobs\": not acquired within 100 ms"))
            : ValueTask.FromResult<IMessage>(new UnlockResponse { Header = new ResponseHeader() });
        await using var client = new KvStoreClient(member.Endpoint);

        await Assert.ThrowsAsync<KvStoreTimeoutException>(() => client.Locks.AcquireLockAsync("jobs", 1, TimeSpan.FromMilliseconds(100)).WaitAsync(Answers.HangGuard));
        Assert.Equal(1, member.Count(FrameType.LockRequest));
    }

    [Fact]
    public async Task Disposing_the_handle_unlocks_its_key_once_and_its_fence_names_the_lock_and_token()
    {
        await using var member = new ScriptedMember("n1");
        member.Behaviour = (type, request, ct) => ValueTask.FromResult<IMessage>(type switch
        {
            FrameType.LockRequest => new LockResponse { Header = new ResponseHeader(), Key = Answers.B("jobs/0000000000000001"), FencingToken = 42 },
            _ => new UnlockResponse { Header = new ResponseHeader() },
        });
        await using var client = new KvStoreClient(member.Endpoint);

        LockHandle held = await client.Locks.AcquireLockAsync("jobs", 1).WaitAsync(Answers.HangGuard);
        Compare fence = held.Fence.ToMessage();
        await held.DisposeAsync();
        await held.DisposeAsync();

        Assert.Equal(Compare.Types.CompareTarget.Fence, fence.Target);
        Assert.Equal(Compare.Types.CompareResult.Equal, fence.Result);
        Assert.Equal("jobs", fence.Key.ToStringUtf8());
        Assert.Equal(42, fence.FencingToken);
        Assert.Equal(fence, Cmp.Fence("jobs", 42).ToMessage());
        Assert.True(held.IsReleased);
        var unlock = (UnlockRequest)member.Received.Single(r => r.Type == FrameType.UnlockRequest).Request;
        Assert.Equal("jobs/0000000000000001", unlock.Key.ToStringUtf8());
    }

    [Fact]
    public void The_waiter_key_is_the_name_and_the_lease_in_sixteen_lowercase_hex_digits()
    {
        Assert.Equal("a/b/00000000000000ff", System.Text.Encoding.UTF8.GetString(KvStoreLocks.WaiterKey("a/b"u8, 255)));
        Assert.Equal("x/ffffffffffffffff", System.Text.Encoding.UTF8.GetString(KvStoreLocks.WaiterKey("x"u8, -1)));
    }
}
