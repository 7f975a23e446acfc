using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability;

/// <summary>
/// The depth-first search for a linearization of one independent part of a history, resumable so
/// that several parts can take turns (see <see cref="LinearizabilityChecker"/> for the algorithm).
/// </summary>
internal sealed class PartitionSearch<TState>
    where TState : notnull
{
    private readonly ISequentialModel<TState> _model;
    private readonly IReadOnlyList<Operation> _operations;
    private readonly EntryList _entries;
    private readonly LinearizedSet _linearized;
    private readonly SearchCache<TState> _cache;

    // The stack of choices: which operation was linearized at each depth, and the state before it.
    // Invariant: _entries holds exactly the operations not in _chosen[0.._depth], and _state is the
    // model's state after running _chosen[0.._depth] in order from Init.
    private readonly int[] _chosen;
    private readonly TState[] _stateBefore;
    private int _depth;
    private TState _state;
    private int _entry;
    private int[] _longest = [];
    private Verdict? _verdict;

    public PartitionSearch(ISequentialModel<TState> model, IReadOnlyList<Operation> operations, CacheAllowance allowance)
    {
        _model = model;
        _operations = operations;
        _entries = new EntryList(operations);
        _linearized = new LinearizedSet(operations.Count);
        _cache = new SearchCache<TState>(model.StateComparer, allowance);
        _chosen = new int[operations.Count];
        _stateBefore = new TState[operations.Count];
        _state = model.Init();
        _entry = _entries.First;
    }

    /// <summary>The longest linearizable prefix found so far (operation indices, in order).</summary>
    public IReadOnlyList<int> LongestPrefix => _longest;

    /// <summary>Runs up to <paramref name="maxSteps"/> steps; the verdict once decided, else null.</summary>
    public Verdict? Advance(int maxSteps)
    {
        for (int step = 0; step < maxSteps && _verdict is null; step++)
        {
            if (_entries.IsEmpty)
            {
                _verdict = Verdict.Linearizable;
            }
            else if (_entries.IsCall(_entry))
            {
                TryLinearize(_entries.OperationOf(_entry));
            }
            else if (_depth == 0)
            {
                // A return entry with nothing left to undo: no order satisfies real time and the model.
                _verdict = Verdict.NotLinearizable;
            }
            else
            {
                Backtrack();
            }
        }
        return _verdict;
    }

    private void TryLinearize(int operation)
    {
        if (_model.Step(_state, _operations[operation], out TState next))
        {
            _linearized.Add(operation);
            if (_cache.TryAdd(_linearized, next))
            {
                _chosen[_depth] = operation;
                _stateBefore[_depth] = _state;
                _depth++;
                if (_depth > _longest.Length)
                {
                    _longest = _chosen[.._depth];
                }
                _state = next;
                _entries.Lift(operation);
                _entry = _entries.First;
                return;
            }
            _linearized.Remove(operation);
        }
        _entry = _entries.Next(_entry);
    }

    /// <summary>The return entry reached belongs to an operation not yet linearized: undo the last choice
    /// and try the next candidate after it.</summary>
    private void Backtrack()
    {
        _depth--;
        int undone = _chosen[_depth];
        _state = _stateBefore[_depth];
        _stateBefore[_depth] = default!;
        _linearized.Remove(undone);
        _entries.Unlift(undone);
        _entry = _entries.Next(_entries.CallOf(undone));
    }
}
