using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability.Models;

/// <summary>The models <c>kvstore-jepsen check --model</c> accepts, by name.</summary>
public static class ModelCatalog
{
    /// <summary>Every model name, as the command line spells it.</summary>
    public static IReadOnlyList<string> Names { get; } = ["register", "cas-register", "kv-append"];

    /// <summary>
    /// Checks <paramref name="history"/> against the named model. Throws
    /// <see cref="ArgumentException"/> for an unknown name and <see cref="HistoryFormatException"/>
    /// for an operation the model does not have.
    /// </summary>
    public static CheckResult Check(string model, IReadOnlyList<Operation> history, CheckBudget budget) => model switch
    {
        "register" => LinearizabilityChecker.Check(RegisterModel.Plain, history, budget),
        "cas-register" => LinearizabilityChecker.Check(RegisterModel.CompareAndSet, history, budget),
        "kv-append" => LinearizabilityChecker.Check(KvAppendModel.Instance, history, budget),
        _ => throw new ArgumentException($"unknown model '{model}' (use {string.Join(", ", Names)})", nameof(model)),
    };
}
