namespace KvStore.Jepsen.Nemesis;

/// <summary>A fault that has been injected and can be healed.</summary>
public interface IActiveFault
{
    /// <summary>What was done, naming the nodes (e.g. "isolate n2 (the leader)").</summary>
    string Description { get; }

    Task HealAsync(CancellationToken cancellationToken);
}
