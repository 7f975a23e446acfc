using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability.Models;

/// <summary>
/// A register per key, initially nil: <c>read</c> returns the value, <c>write</c> replaces it and,
/// in the <c>cas-register</c> flavour, <c>cas [expected new]</c> replaces it only when it equals
/// <c>expected</c>. An ok cas swapped; a cas that did not swap is a :fail in Jepsen and never
/// reaches the model. Keys are independent, so the history is partitioned by key.
/// </summary>
public sealed class RegisterModel : ISequentialModel<HistoryValue>
{
    /// <summary>Read and write only.</summary>
    public static readonly RegisterModel Plain = new("register", supportsCas: false);

    /// <summary>Read, write and compare-and-set (the etcd histories' model).</summary>
    public static readonly RegisterModel CompareAndSet = new("cas-register", supportsCas: true);

    private readonly bool _supportsCas;

    private RegisterModel(string name, bool supportsCas)
    {
        Name = name;
        _supportsCas = supportsCas;
    }

    public string Name { get; }

    public IEqualityComparer<HistoryValue> StateComparer => EqualityComparer<HistoryValue>.Default;

    public HistoryValue Init() => HistoryValue.Nil;

    public bool Step(HistoryValue state, Operation operation, out HistoryValue next)
    {
        switch (operation.Function)
        {
            case OperationFunction.Read:
                next = state;
                return !operation.OutcomeKnown || operation.Output.Equals(state);
            case OperationFunction.Write:
                next = operation.Input;
                return true;
            case OperationFunction.Cas:
                var (expected, replacement) = CasArguments(operation);
                if (state.Equals(expected))
                {
                    next = replacement;
                    return true;
                }
                // Did not match: with a known (ok) outcome the swap happened, which is impossible
                // here; with an unknown outcome the cas ran and changed nothing.
                next = state;
                return !operation.OutcomeKnown;
            default:
                throw new ArgumentException($"register models have no {operation.Function.Name()} (validated before the search)", nameof(operation));
        }
    }

    public IReadOnlyList<SubHistory> Partition(IReadOnlyList<Operation> history) =>
        KeyPartition.ByKey(history, IsUnconstrainingRead);

    public string? Validate(Operation operation) => operation.Function switch
    {
        OperationFunction.Read or OperationFunction.Write => null,
        OperationFunction.Cas when !_supportsCas => "cas needs the cas-register model",
        OperationFunction.Cas when operation.Input is not ListValue { Items.Count: 2 } =>
            $"cas takes [expected new], found {operation.Input}",
        OperationFunction.Cas => null,
        _ => $"no {operation.Function.Name()} operation (use read, write{(_supportsCas ? ", cas" : "")})",
    };

    public string DescribeState(HistoryValue state) => state.ToString();

    public string DescribeOperation(Operation operation)
    {
        string unknown = operation.OutcomeKnown ? "" : " (outcome unknown)";
        return operation.Function switch
        {
            OperationFunction.Read => operation.OutcomeKnown ? $"read -> {operation.Output}" : "read (outcome unknown)",
            OperationFunction.Write => $"write {operation.Input}{unknown}",
            OperationFunction.Cas => $"cas {CasArguments(operation).Expected} -> {CasArguments(operation).Replacement}{unknown}",
            _ => $"{operation.Function.Name()} {operation.Input}{unknown}",
        };
    }

    private static (HistoryValue Expected, HistoryValue Replacement) CasArguments(Operation operation)
    {
        var items = ((ListValue)operation.Input).Items;
        return (items[0], items[1]);
    }

    /// <summary>A read whose result never arrived cannot rule out any order.</summary>
    private static bool IsUnconstrainingRead(Operation operation) =>
        operation.Function == OperationFunction.Read && !operation.OutcomeKnown;
}
