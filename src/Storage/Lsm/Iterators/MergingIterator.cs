namespace KvStore.Storage.Lsm.Iterators;

/// <summary>
/// The union of several sorted internal iterators, forward and reverse (LevelDB's
/// MergingIterator). Moving forward, the children are kept in a binary min-heap by key (ties
/// to the earlier child), so a step costs O(log n) comparisons: an L0 compaction can merge
/// twenty tables. Reverse steps, rare, find the largest by a linear scan.
/// </summary>
/// <remarks>
/// Invariant when moving forward: every non-current child is positioned at its first key
/// &gt; <see cref="Key"/>; in reverse, at its last key &lt; <see cref="Key"/>. Changing
/// direction re-seeks every other child to restore it.
/// </remarks>
internal sealed class MergingIterator(IReadOnlyList<IInternalIterator> children) : IInternalIterator
{
    private readonly IInternalIterator[] _children = [.. children];

    // Forward direction only: indexes into _children of the valid children, a min-heap by (key, index).
    private readonly int[] _heap = new int[children.Count];
    private int _heapCount;
    private IInternalIterator? _current;
    private bool _forward = true;

    public bool Valid => _current != null && _current.Valid;

    public ReadOnlySpan<byte> Key => Current.Key;

    public ReadOnlySpan<byte> Value => Current.Value;

    private IInternalIterator Current => _current ?? throw new InvalidOperationException("iterator is not positioned on an entry");

    public void SeekToFirst()
    {
        foreach (IInternalIterator child in _children)
        {
            child.SeekToFirst();
        }

        _forward = true;
        FindSmallest();
    }

    public void SeekToLast()
    {
        foreach (IInternalIterator child in _children)
        {
            child.SeekToLast();
        }

        _forward = false;
        FindLargest();
    }

    public void Seek(ReadOnlySpan<byte> target)
    {
        foreach (IInternalIterator child in _children)
        {
            child.Seek(target);
        }

        _forward = true;
        FindSmallest();
    }

    public void Next()
    {
        IInternalIterator current = Current;
        if (!_forward)
        {
            byte[] key = current.Key.ToArray();
            foreach (IInternalIterator child in _children)
            {
                if (ReferenceEquals(child, current))
                {
                    continue;
                }

                child.Seek(key);
                if (child.Valid && InternalKeyComparer.Compare(key, child.Key) == 0)
                {
                    child.Next();
                }
            }

            _forward = true;
            current.Next();
            FindSmallest();
            return;
        }

        // Forward, the current child is the heap's top: advance it and restore the heap.
        current.Next();
        if (!current.Valid)
        {
            _heap[0] = _heap[--_heapCount];
        }

        SiftDown(0);
        _current = _heapCount > 0 ? _children[_heap[0]] : null;
    }

    public void Prev()
    {
        IInternalIterator current = Current;
        if (_forward)
        {
            byte[] key = current.Key.ToArray();
            foreach (IInternalIterator child in _children)
            {
                if (ReferenceEquals(child, current))
                {
                    continue;
                }

                child.Seek(key);
                if (child.Valid)
                {
                    child.Prev();
                }
                else
                {
                    child.SeekToLast();
                }
            }

            _forward = false;
        }

        current.Prev();
        FindLargest();
    }

    public void Dispose()
    {
        foreach (IInternalIterator child in _children)
        {
            child.Dispose();
        }
    }

    /// <summary>Rebuilds the heap from every valid child and takes its top as current.</summary>
    private void FindSmallest()
    {
        _heapCount = 0;
        for (int i = 0; i < _children.Length; i++)
        {
            if (_children[i].Valid)
            {
                _heap[_heapCount++] = i;
            }
        }

        for (int i = (_heapCount / 2) - 1; i >= 0; i--)
        {
            SiftDown(i);
        }

        _current = _heapCount > 0 ? _children[_heap[0]] : null;
    }

    private void SiftDown(int position)
    {
        int count = _heapCount;
        if (count == 0)
        {
            return;
        }

        int item = _heap[position];
        while (true)
        {
            int child = (2 * position) + 1;
            if (child >= count)
            {
                break;
            }

            if (child + 1 < count && Less(_heap[child + 1], _heap[child]))
            {
                child++;
            }

            if (!Less(_heap[child], item))
            {
                break;
            }

            _heap[position] = _heap[child];
            position = child;
        }

        _heap[position] = item;
    }

    private bool Less(int a, int b)
    {
        int c = InternalKeyComparer.Compare(_children[a].Key, _children[b].Key);
        return c < 0 || (c == 0 && a < b);
    }

    private void FindLargest()
    {
        IInternalIterator? largest = null;
        for (int i = _children.Length - 1; i >= 0; i--)
        {
            IInternalIterator child = _children[i];
            if (child.Valid && (largest == null || InternalKeyComparer.Compare(child.Key, largest.Key) > 0))
            {
                largest = child;
            }
        }

        _current = largest;
    }
}
