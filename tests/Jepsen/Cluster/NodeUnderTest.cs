using System.Net;
using KvStore.Jepsen.Faults;
using KvStore.Server.Cli;
using KvStore.Server.Node;

namespace KvStore.Jepsen.Cluster;

/// <summary>One member of the cluster under test: its ports, data directory, log, proxy and process.</summary>
public sealed class NodeUnderTest
{
    public NodeUnderTest(string name, string dataDirectory, string logPath, int clientPort, int peerPort, PeerProxy proxy)
    {
        Name = name;
        DataDirectory = dataDirectory;
        LogPath = logPath;
        ClientUrl = $"127.0.0.1:{clientPort}";
        PeerUrl = $"127.0.0.1:{peerPort}";
        Proxy = proxy;
    }

    public string Name { get; }

    public ulong Id => MemberIds.ForName(Name);

    public string DataDirectory { get; }

    public string LogPath { get; }

    /// <summary>The node's <c>--fault-injection-dir</c>: its clock control file lives here.</summary>
    public string FaultDirectory => DataDirectory + "-faults";

    /// <summary>Its clock was set off true time and not yet reset.</summary>
    public bool ClockSkewed { get; set; }

    public string ClientUrl { get; }

    /// <summary>Where the node itself listens for peers.</summary>
    public string PeerUrl { get; }

    /// <summary>Where the OTHER nodes dial it: its proxy.</summary>
    public PeerProxy Proxy { get; }

    public string ProxiedPeerUrl => $"{IPAddress.Loopback}:{Proxy.EndPoint.Port}";

    public ServeProcess? Process { get; set; }

    /// <summary>Stopped with SIGSTOP and not yet continued.</summary>
    public bool IsPaused { get; set; }

    /// <summary>Removed from the membership by the member nemesis and not added back.</summary>
    public bool IsRemoved { get; set; }

    public bool IsRunning => Process is { HasExited: false };

    public override string ToString() => Name;
}
