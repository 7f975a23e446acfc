using System.Net;
using System.Net.Sockets;
using KvStore.Raft.Core;
using KvStore.Raft.Host;
using KvStore.Server.Leases;
using KvStore.Server.Locks;
using KvStore.Server.Mvcc;
using KvStore.Server.Net;
using KvStore.Server.Peers;
using KvStore.Server.Watch;
using KvStore.Storage.IO;
using KvStore.Storage.Log;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvStore.Server.Node;

/// <summary>
/// One KvStore server process: the Raft log, the key-value state machine, the Raft host, the peer
/// transport and the client listener, wired together.
/// </summary>
/// <remarks>
/// Data directory layout:
/// <code>
/// DIR/raft/        SegmentedLogStore: the Raft log and hard state of every group
/// DIR/data/        the LSM of group 1's MVCC store (its applied index is stored with it)
/// DIR/snapshots/   FileSnapshotStore: the latest snapshot of every group
/// DIR/members.json the member directory (ids, names, peer and client URLs), see <see cref="MemberDirectory"/>
/// </code>
/// On restart the host restores the state machine from the latest snapshot and replays the log
/// after it; entries the MVCC store already holds (index &lt;= its applied index) are skipped.
/// Only group <see cref="DefaultGroup"/> exists today, but every call names its group.
/// </remarks>
public sealed class KvNode : IAsyncDisposable
{
    /// <summary>The key-value group every node hosts until sharding adds more.</summary>
    public const ulong DefaultGroup = 1;

    private readonly KvNodeOptions _options;
    private readonly ILogger _logger;
    private readonly SegmentedLogStore _log;
    private readonly KvStateMachine _kv;
    private readonly TcpPeerTransport _transport;
    private readonly RaftHost _host;
    private readonly WatchHub _watchHub;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource<Exception> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<ulong> _peerIds = [];
    private ClientListener? _listener;
    private LockService? _locks;
    private Task? _publisher;
    private int _disposed;

    private KvNode(KvNodeOptions options, ILoggerFactory loggers, SegmentedLogStore log, KvStateMachine kv, MemberDirectory members, TcpPeerTransport transport, RaftHost host, WatchHub watchHub)
    {
        _watchHub = watchHub;
        Watches = new WatchService(watchHub);
        _options = options;
        _logger = loggers.CreateLogger("node");
        _log = log;
        _kv = kv;
        Members = members;
        _transport = transport;
        _host = host;
        Id = MemberIds.ForName(options.Name);
        Leases = new LeaseService(
            kv,
            new RaftLeaseProposer(host, DefaultGroup, options.Clock),
            new LeaseServiceOptions { ElectionTimeout = options.ElectionTimeout, Clock = options.Clock },
            loggers.CreateLogger("leases"));
        ClusterId = MemberIds.ForCluster(options.ClusterToken);
    }

    public ulong Id { get; }

    public ulong ClusterId { get; }

    public string Name => _options.Name;

    public KvNodeOptions Options => _options;

    public MemberDirectory Members { get; }

    public RaftHost Host => _host;

    public KvStateMachine StateMachine => _kv;

    /// <summary>The leader-side lease service (deadlines, renewals, expiry); idle on followers.</summary>
    public LeaseService Leases { get; }
    /// <summary>The lock service (grants on the leader; waiters and election observers on every node).</summary>
    public LockService Locks => _locks ?? throw new InvalidOperationException("the node has not been started");
    /// <summary>This node's watches, fed by its state machine after each applied batch.</summary>
    public WatchService Watches { get; }

    public IPEndPoint ClientEndPoint => _listener?.LocalEndPoint ?? throw new InvalidOperationException("the node has not been started");

    public IPEndPoint PeerEndPoint => _transport.LocalEndPoint;

    /// <summary>
    /// Completes with the cause when the node can no longer serve (its Raft host failed, e.g. a disk
    /// error or a corrupt snapshot): fail-stop, the process should exit and be restarted.
    /// </summary>
    public Task<Exception> Failed => _failed.Task;

    /// <summary>Opens the data directory, joins or bootstraps group 1, and starts serving clients.</summary>
    public static async Task<KvNode> StartAsync(KvNodeOptions options, ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        loggers ??= NullLoggerFactory.Instance;
        string dir = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(dir);
        ulong id = MemberIds.ForName(options.Name);
        IReadOnlyDictionary<string, string> initial = options.EffectiveInitialCluster();
        if (initial[options.Name] != options.PeerUrl)
        {
            throw new ArgumentException($"--initial-cluster gives {options.Name}={initial[options.Name]} but --peer-url is {options.PeerUrl}");
        }

        // Client URLs start empty, this node's own included: only the leader's publication (through
        // the log) fills them in, so that every node's directory says the same.
        var members = new MemberDirectory(Path.Combine(dir, "members.json"));
        if (!members.Load())
        {
            members.Replace(initial.Select(kv => new MemberRecord
            {
                Id = MemberIds.ForName(kv.Key),
                Name = kv.Key,
                PeerUrl = kv.Value,
            }));
        }

        // The group's configuration at index 0 is bootstrapped, not logged, so a node that joins a
        // running cluster and replays the log from index 1 must start from the same voters as the
        // founders: the other members of its --initial-cluster (which is why that list names the
        // founding members). When the leader sends a snapshot instead, it replaces this guess.
        bool joining = string.Equals(options.InitialClusterState, "existing", StringComparison.OrdinalIgnoreCase);
        ulong[] voters = initial.Keys.Where(name => !joining || name != options.Name).Select(MemberIds.ForName).ToArray();

        IFileSystem fs = options.FileSystem;
        SegmentedLogStore log = SegmentedLogStore.Open(fs, Path.Combine(dir, "raft"));
        KvStateMachine? kv = null;
        TcpPeerTransport? transport = null;
        RaftHost? host = null;
        WatchHub? watchHub = null;
        try
        {
            kv = KvStateMachine.Open(Path.Combine(dir, "data"), fs, new KvStateMachineOptions { MinLeaseTtl = options.MinLeaseTtl });
            watchHub = new WatchHub(
                kv.Store,
                new WatchHubOptions { Clock = options.Clock, ClusterId = MemberIds.ForCluster(options.ClusterToken), MemberId = id, GroupId = DefaultGroup },
                loggers.CreateLogger("watch"));
            kv.RevisionAdvanced = watchHub.NotifyApplied;
            var snapshots = new FileSnapshotStore(fs, Path.Combine(dir, "snapshots"));
            transport = new TcpPeerTransport(
                new PeerTransportOptions
                {
                    NodeId = id,
                    ClusterId = MemberIds.ForCluster(options.ClusterToken),
                    ListenEndPoint = await ResolveAsync(options.ListenPeerUrl ?? options.PeerUrl, cancellationToken).ConfigureAwait(false),
                    ClientUrl = options.ClientUrl,
                },
                loggers.CreateLogger("peers"));
            transport.Start();
            host = new RaftHost(
                new RaftHostOptions
                {
                    NodeId = id,
                    TickInterval = options.TickInterval,
                    Clock = options.Clock,
                    GroupConfig = new RaftConfig
                    {
                        Id = id,
                        ElectionTick = options.ElectionTicks,
                        HeartbeatTick = options.HeartbeatTicks,
                    },
                    SnapshotEveryEntries = options.SnapshotEveryEntries,
                    CompactionRetainEntries = options.CompactionRetainEntries,
                    ProposalTimeout = options.ProposalTimeout,
                },
                log,
                snapshots,
                transport);
            var node = new KvNode(options, loggers, log, kv, members, transport, host, watchHub);
            members.Changed += node.ConnectPeers;
            node.ConnectPeers(members.Members);
            host.Start();
            node._locks = new LockService(host, DefaultGroup, kv, new LeaderLeaseLiveness(node.Leases, kv.Leases), options.Clock, loggers.CreateLogger("locks"));
            node._locks.Start();
            await host.AddGroupAsync(DefaultGroup, voters, new MembershipStateMachine(kv, members)).WaitAsync(cancellationToken).ConfigureAwait(false);

            node._listener = new ClientListener(
                new ClientListenerOptions
                {
                    EndPoint = await ResolveAsync(options.ClientUrl, cancellationToken).ConfigureAwait(false),
                    ClusterId = node.ClusterId,
                    MemberId = id,
                },
                new KvRequestHandler(node),
                loggers.CreateLogger<ClientListener>());
            node._listener.Start();
            node.Leases.Start();
            node._publisher = Task.Run(() => node.PublishClientUrlsAsync(node._stopping.Token));
            node._logger.LogInformation(
                "node {Name} (id {Id:x16}) serving clients on {Client}, peers on {Peer}, data in {Dir}",
                options.Name, id, node.ClientEndPoint, transport.LocalEndPoint, dir);
            return node;
        }
        catch
        {
            host?.Dispose();
            transport?.Dispose();
            if (watchHub is not null)
            {
                await watchHub.DisposeAsync().ConfigureAwait(false);
            }

            kv?.Dispose();
            log.Dispose();
            throw;
        }
    }

    /// <summary>The client URL of <paramref name="memberId"/> as this node knows it, or null.</summary>
    public string? ClientUrlOf(ulong memberId)
    {
        if (memberId == 0)
        {
            return null;
        }

        if (memberId == Id)
        {
            return _options.ClientUrl;
        }

        if (Members.Find(memberId) is { ClientUrl.Length: > 0 } member)
        {
            return member.ClientUrl;
        }

        return _transport.AnnouncedClientUrls.TryGetValue(memberId, out string? url) ? url : null;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        if (_publisher is not null)
        {
            await _publisher.ConfigureAwait(false);
        }

        await Leases.DisposeAsync().ConfigureAwait(false);
        if (_locks is not null)
        {
            await _locks.DisposeAsync().ConfigureAwait(false);
        }

        _host.Dispose();
        _transport.Dispose();
        await _watchHub.DisposeAsync().ConfigureAwait(false);
        _kv.Dispose();
        _log.Dispose();
        _stopping.Dispose();
    }

    /// <summary>
    /// Points the transport at every member; a removed member's link is dropped with its queue, so
    /// that messages of its old incarnation never reach a node re-added under the same id.
    /// </summary>
    private void ConnectPeers(IReadOnlyList<MemberRecord> members)
    {
        lock (_peerIds)
        {
            var current = members.Where(m => m.Id != Id).ToDictionary(m => m.Id);
            foreach (ulong gone in _peerIds.Where(id => !current.ContainsKey(id)).ToArray())
            {
                _transport.RemovePeer(gone);
                _peerIds.Remove(gone);
            }

            foreach (MemberRecord m in current.Values)
            {
                _transport.SetPeer(m.Id, m.PeerUrl);
                _peerIds.Add(m.Id);
            }
        }
    }

    /// <summary>
    /// Watches the host for failure and, on the leader, writes every member's client URL (its own, and each peer's as announced in the
    /// peer handshake) into the replicated member directory, so that any node can point a client
    /// at the leader. Runs until the node stops.
    /// </summary>
    private async Task PublishClientUrlsAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(300), cancellationToken).ConfigureAwait(false);
                if (_host.Failure is { } failure)
                {
                    _logger.LogCritical(failure, "node {Name}: the Raft host stopped", Name);
                    _failed.TrySetResult(failure);
                    return;
                }

                if (_host.GetStatus(DefaultGroup).Role != RaftRole.Leader)
                {
                    continue;
                }

                foreach (MemberRecord m in Members.Members)
                {
                    string? url = m.Id == Id ? _options.ClientUrl : _transport.AnnouncedClientUrls.GetValueOrDefault(m.Id);
                    if (!string.IsNullOrEmpty(url) && url != m.ClientUrl)
                    {
                        await _host.ProposeAsync(DefaultGroup, MemberEntryCodec.Encode(m with { ClientUrl = url }), cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NotLeaderException or ProposalDroppedException or TimeoutException or GroupNotFoundException or HostFailedException)
            {
                // Leadership moved on; the next leader publishes.
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    private static async Task<IPEndPoint> ResolveAsync(string url, CancellationToken cancellationToken)
    {
        (string host, int port) = PeerAddress.Parse(url);
        if (IPAddress.TryParse(host, out IPAddress? ip))
        {
            return new IPEndPoint(ip, port);
        }

        IPAddress[] addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        IPAddress chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.First();
        return new IPEndPoint(chosen, port);
    }
}
