using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Server.Locks;

namespace KvStore.Server.Tests.Locks;

/// <summary>
/// An observe stream whose client is slow: the service's publishing never waits for it, the
/// client gets the newest state next (intermediate ones coalesced), and nothing is reordered or repeated.
/// </summary>
public sealed class ElectionObserverTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_slow_client_gets_the_latest_state_next_in_order_and_never_holds_up_publishing()
    {
        var received = new List<ElectionObservation>();
        using var gate = new SemaphoreSlim(0);
        var observer = new ElectionObserver(7, "e"u8.ToArray(), new object(), async (o, ct) =>
        {
            lock (received)
            {
                received.Add(o);
            }

            await gate.WaitAsync(ct);
        }, CancellationToken.None);

        observer.Publish(Leader("e/a", "alpha", mod: 10), revision: 10);
        await WaitForAsync(received, 1);

        // The client is still busy with the first observation: these return at once and coalesce.
        Task publishing = Task.Run(() =>
        {
            observer.Publish(Leader("e/a", "alpha2", mod: 11), revision: 11);
            observer.Publish(null, revision: 12);
            observer.Publish(Leader("e/b", "beta", mod: 13), revision: 13);
        });
        Assert.Same(publishing, await Task.WhenAny(publishing, Task.Delay(HangGuard)));

        gate.Release();
        await WaitForAsync(received, 2);
        gate.Release();
        observer.Publish(Leader("e/b", "beta", mod: 13), revision: 14);
        observer.Publish(null, revision: 15);
        await WaitForAsync(received, 3);
        gate.Release();

        Assert.Equal(["alpha", "beta", "(none)"], received.Select(o => o.Kv?.Value.ToStringUtf8() ?? "(none)"));
        Assert.Equal([10L, 13L, 15L], received.Select(o => o.Header.Revision));
        Assert.All(received, o => Assert.Equal(7, o.ObserveId));
    }

    [Fact]
    public async Task The_first_observation_is_sent_even_when_there_is_no_leader()
    {
        var received = new List<ElectionObservation>();
        var observer = new ElectionObserver(1, "e"u8.ToArray(), new object(), (o, _) =>
        {
            lock (received)
            {
                received.Add(o);
            }

            return ValueTask.CompletedTask;
        }, CancellationToken.None);

        observer.Publish(null, revision: 3);
        await WaitForAsync(received, 1);
        observer.Publish(null, revision: 4);
        observer.Publish(Leader("e/a", "alpha", mod: 5), revision: 5);
        await WaitForAsync(received, 2);

        Assert.Null(received[0].Kv);
        Assert.Equal("alpha", received[1].Kv.Value.ToStringUtf8());
    }

    private static KeyValue Leader(string key, string value, long mod) => new()
    {
        Key = ByteString.CopyFromUtf8(key),
        Value = ByteString.CopyFromUtf8(value),
        CreateRevision = 1,
        ModRevision = mod,
    };

    private static async Task WaitForAsync(List<ElectionObservation> received, int count)
    {
        DateTime deadline = DateTime.UtcNow + HangGuard;
        while (true)
        {
            lock (received)
            {
                if (received.Count >= count)
                {
                    return;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"{count} observations not sent");
            await Task.Delay(10);
        }
    }
}
