using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability.Models;

/// <summary>Splits a history by key, for models whose keys are independent objects.</summary>
internal static class KeyPartition
{
    /// <summary>
    /// One sub-history per key, in order of first appearance; operations for which
    /// <paramref name="leaveOut"/> holds are dropped. A history without keys is one part.
    /// </summary>
    public static IReadOnlyList<SubHistory> ByKey(IReadOnlyList<Operation> history, Func<Operation, bool> leaveOut)
    {
        var parts = new Dictionary<string, List<Operation>>(StringComparer.Ordinal);
        var order = new List<string?>();
        List<Operation>? unkeyed = null;
        foreach (Operation operation in history)
        {
            if (leaveOut(operation))
            {
                continue;
            }
            List<Operation> part;
            if (operation.Key is null)
            {
                if (unkeyed is null)
                {
                    unkeyed = [];
                    order.Add(null);
                }
                part = unkeyed;
            }
            else if (!parts.TryGetValue(operation.Key, out part!))
            {
                part = [];
                parts.Add(operation.Key, part);
                order.Add(operation.Key);
            }
            part.Add(operation);
        }
        return order
            .Select(key => key is null
                ? new SubHistory("all operations", unkeyed!)
                : new SubHistory($"key {new TextValue(key)}", parts[key]))
            .ToList();
    }
}
