using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability.Models;

/// <summary>
/// A string per key, initially empty: <c>get</c> returns it, <c>put</c> replaces it, <c>append</c>
/// concatenates to it. Keys are independent, so the history is partitioned by key. A get that
/// returns nil saw an absent key, which is the empty string.
/// </summary>
public sealed class KvAppendModel : ISequentialModel<string>
{
    public static readonly KvAppendModel Instance = new();

    private KvAppendModel()
    {
    }

    public string Name => "kv-append";

    public IEqualityComparer<string> StateComparer => StringComparer.Ordinal;

    public string Init() => "";

    public bool Step(string state, Operation operation, out string next)
    {
        switch (operation.Function)
        {
            case OperationFunction.Get:
                next = state;
                return !operation.OutcomeKnown || Text(operation.Output) == state;
            case OperationFunction.Put:
                next = Text(operation.Input);
                return true;
            case OperationFunction.Append:
                next = string.Concat(state, Text(operation.Input));
                return true;
            default:
                throw new ArgumentException($"kv-append has no {operation.Function.Name()} (validated before the search)", nameof(operation));
        }
    }

    public IReadOnlyList<SubHistory> Partition(IReadOnlyList<Operation> history) =>
        KeyPartition.ByKey(history, o => o.Function == OperationFunction.Get && !o.OutcomeKnown);

    public string? Validate(Operation operation) => operation.Function switch
    {
        OperationFunction.Get when operation.OutcomeKnown && operation.Output is not (TextValue or NilValue) =>
            $"get must return a string or nil, found {operation.Output}",
        OperationFunction.Get => null,
        OperationFunction.Put or OperationFunction.Append when operation.Input is not TextValue =>
            $"{operation.Function.Name()} takes a string, found {operation.Input}",
        OperationFunction.Put or OperationFunction.Append => null,
        _ => $"no {operation.Function.Name()} operation (use get, put, append)",
    };

    public string DescribeState(string state) => new TextValue(state).ToString();

    public string DescribeOperation(Operation operation)
    {
        string unknown = operation.OutcomeKnown ? "" : " (outcome unknown)";
        return operation.Function switch
        {
            OperationFunction.Get => operation.OutcomeKnown
                ? $"get -> {new TextValue(Text(operation.Output))}"
                : "get (outcome unknown)",
            _ => $"{operation.Function.Name()} {operation.Input}{unknown}",
        };
    }

    private static string Text(HistoryValue value) => value is TextValue text ? text.Value : "";
}
