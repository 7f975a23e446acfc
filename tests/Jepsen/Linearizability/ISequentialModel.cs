using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability;

/// <summary>
/// A sequential specification: how the object behaves when operations run one at a time. The
/// checker asks whether the concurrent history can be ordered so that every operation, run in
/// that order from <see cref="Init"/>, is accepted by <see cref="Step"/> (Herlihy and Wing's
/// definition; the search is Wing and Gong's with Lowe's memoisation).
/// </summary>
/// <typeparam name="TState">The object's state; compared with <see cref="StateComparer"/> to prune
/// the search, so it must be immutable.</typeparam>
public interface ISequentialModel<TState>
    where TState : notnull
{
    /// <summary>The model's name on the command line.</summary>
    string Name { get; }

    /// <summary>Compares states for the search cache (equality and hash).</summary>
    IEqualityComparer<TState> StateComparer { get; }

    /// <summary>The object's state before any operation.</summary>
    TState Init();

    /// <summary>
    /// Applies <paramref name="operation"/> to <paramref name="state"/>: true with the next state when
    /// the operation's recorded output is what the object would answer in that state. An operation
    /// whose outcome is unknown accepts any output, but still changes the state as it must.
    /// </summary>
    bool Step(TState state, Operation operation, out TState next);

    /// <summary>
    /// Splits a history into independent sub-histories (P-compositionality: Horn and Kroening):
    /// the history is linearizable exactly when each part is. Operations that cannot constrain
    /// any linearization (a read whose result is unknown) may be left out.
    /// </summary>
    IReadOnlyList<SubHistory> Partition(IReadOnlyList<Operation> history);

    /// <summary>Why <paramref name="operation"/> cannot belong to this model's histories, or null if it can.</summary>
    string? Validate(Operation operation);

    /// <summary>The state as an explanation shows it.</summary>
    string DescribeState(TState state);

    /// <summary>The operation as an explanation shows it (kind, input and output).</summary>
    string DescribeOperation(Operation operation);
}
