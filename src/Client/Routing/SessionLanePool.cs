using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace KvStore.Client.Routing;

/// <summary>
/// The sessions of one client, one per write in flight (see <see cref="SessionLane"/>). The first
/// lane uses the client id of the handshake; further lanes, created when writes overlap, draw
/// random 64-bit ids the way the server does, so ids of different clients do not collide.
/// At most <see cref="KvStoreClientOptions.MaxConcurrentWrites"/> lanes exist; more writes wait.
/// </summary>
internal sealed class SessionLanePool : IDisposable
{
    private readonly ConcurrentBag<SessionLane> _idle = [];
    private readonly SemaphoreSlim _slots;
    private int _created;

    public SessionLanePool(int maxLanes, ulong firstClientId)
    {
        _slots = new SemaphoreSlim(maxLanes, maxLanes);
        _idle.Add(new SessionLane(firstClientId));
        _created = 1;
    }

    public async Task<SessionLane> RentAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_idle.TryTake(out var lane))
        {
            return lane;
        }

        Interlocked.Increment(ref _created);
        return new SessionLane(RandomClientId());
    }

    public void Return(SessionLane lane)
    {
        _idle.Add(lane);
        _slots.Release();
    }

    /// <summary>Lanes created so far (for tests and logs).</summary>
    public int Created => Volatile.Read(ref _created);

    public static ulong RandomClientId()
    {
        Span<byte> bytes = stackalloc byte[8];
        ulong id;
        do
        {
            RandomNumberGenerator.Fill(bytes);
            id = BitConverter.ToUInt64(bytes);
        }
        while (id == 0);
        return id;
    }

    public void Dispose() => _slots.Dispose();
}
