using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Linearizability;

/// <summary>
/// The history as a doubly linked list of call and return entries in real-time order (Lowe,
/// "Testing for linearizability", section 4). Linearizing an operation lifts its call and return
/// out of the list; backtracking puts them back. Unlifting must undo lifts in exactly the reverse
/// order (the search's stack guarantees it): the removed entries keep their old links, the
/// "dancing links" trick, so both moves are O(1).
/// </summary>
/// <remarks>
/// Entry i is the i-th event in time order; <see cref="Head"/> is a sentinel before the first.
/// At equal times calls come before returns, so operations that touch at one instant count as
/// concurrent: the checker never reports a violation that depends on a clock tie.
/// </remarks>
internal sealed class EntryList
{
    /// <summary>No entry (the end of the list).</summary>
    public const int None = -1;

    private readonly int[] _next;
    private readonly int[] _prev;
    private readonly int[] _operationOf;
    private readonly bool[] _isCall;
    private readonly int[] _callOf;
    private readonly int[] _returnOf;

    public EntryList(IReadOnlyList<Operation> operations)
    {
        int n = operations.Count;
        var events = new (long Time, int Kind, int Operation)[2 * n];
        for (int i = 0; i < n; i++)
        {
            events[2 * i] = (operations[i].CallTime, 0, i);
            events[(2 * i) + 1] = (operations[i].ReturnTime, 1, i);
        }
        Array.Sort(events);

        Head = 2 * n;
        _next = new int[(2 * n) + 1];
        _prev = new int[(2 * n) + 1];
        _operationOf = new int[2 * n];
        _isCall = new bool[2 * n];
        _callOf = new int[n];
        _returnOf = new int[n];
        for (int e = 0; e < 2 * n; e++)
        {
            var (_, kind, operation) = events[e];
            _operationOf[e] = operation;
            _isCall[e] = kind == 0;
            if (kind == 0)
            {
                _callOf[operation] = e;
            }
            else
            {
                _returnOf[operation] = e;
            }
            _next[e] = e + 1 < 2 * n ? e + 1 : None;
            _prev[e] = e == 0 ? Head : e - 1;
        }
        _next[Head] = n > 0 ? 0 : None;
        _prev[Head] = None;
    }

    /// <summary>The sentinel entry before the first.</summary>
    public int Head { get; }

    /// <summary>True when every operation has been lifted out.</summary>
    public bool IsEmpty => _next[Head] == None;

    public int First => _next[Head];

    public int Next(int entry) => _next[entry];

    public bool IsCall(int entry) => _isCall[entry];

    public int OperationOf(int entry) => _operationOf[entry];

    public int CallOf(int operation) => _callOf[operation];

    /// <summary>Removes an operation's call and return entries.</summary>
    public void Lift(int operation)
    {
        int call = _callOf[operation];
        int ret = _returnOf[operation];
        _next[_prev[call]] = _next[call];
        _prev[_next[call]] = _prev[call]; // a call always has its return after it
        _next[_prev[ret]] = _next[ret];
        if (_next[ret] != None)
        {
            _prev[_next[ret]] = _prev[ret];
        }
    }

    /// <summary>Puts back the operation lifted most recently and not yet put back.</summary>
    public void Unlift(int operation)
    {
        int call = _callOf[operation];
        int ret = _returnOf[operation];
        _next[_prev[ret]] = ret;
        if (_next[ret] != None)
        {
            _prev[_next[ret]] = ret;
        }
        _next[_prev[call]] = call;
        _prev[_next[call]] = call;
    }
}
