using KvStore.Raft.Core;

namespace KvStore.Raft.Tests.Simulation;

/// <summary>What a <see cref="SimulatedNode"/>'s persist-send-apply loop reports to the simulator and its checker.</summary>
internal interface ISimulationObserver
{
    /// <summary>A message leaves the node (after persistence, unless a planted bug says otherwise).</summary>
    void Send(SimulatedNode from, Message message);

    /// <summary>
    /// Called after the node sent its early messages and wrote (but did not sync) the Ready's entries: returns true when the simulator crashed the node in that window.
    /// </summary>
    bool CrashBeforeSync(SimulatedNode node, Ready ready);

    /// <summary>The node applied a committed entry to its state machine (raw entry, as in the log).</summary>
    void Applied(SimulatedNode node, Entry entry);

    /// <summary>A ReadIndex request is served: the node's state machine has applied at least <paramref name="readIndex"/>.</summary>
    void ReadServed(SimulatedNode node, ulong readId, long readIndex);

    /// <summary>A Ready was fully handled (persisted, sent, applied, advanced).</summary>
    void ReadyHandled(SimulatedNode node, Ready ready);
}
