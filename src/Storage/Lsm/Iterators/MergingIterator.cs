namespace KvStore.Storage.Lsm.Iterators;

/// <summary>
/// The union of several sorted internal iterators, forward and reverse (LevelDB's
/// MergingIterator). Children are few (memtables, L0 tables, one per deeper level), so the
/// smallest or largest is found by a linear scan rather than a heap.
/// </summary>
/// <remarks>
/// Invariant when moving forward: every non-current child is positioned at its first key
/// &gt; <see cref="Key"/>; in reverse, at its last key &lt; <see cref="Key"/>. Changing
/// direction re-seeks every other child to restore it.
/// </remarks>
internal sealed class MergingIterator(IReadOnlyList<IInternalIterator> children) : IInternalIterator
{
    private IInternalIterator? _current;
    private bool _forward = true;

    public bool Valid => _current != null && _current.Valid;

    public ReadOnlySpan<byte> Key => Current.Key;

    public ReadOnlySpan<byte> Value => Current.Value;

    private IInternalIterator Current => _current ?? throw new InvalidOperationException("iterator is not positioned on an entry");

    public void SeekToFirst()
    {
        foreach (IInternalIterator child in children)
        {
            child.SeekToFirst();
        }

        _forward = true;
        FindSmallest();
    }

    public void SeekToLast()
    {
        foreach (IInternalIterator child in children)
        {
            child.SeekToLast();
        }

        _forward = false;
        FindLargest();
    }

    public void Seek(ReadOnlySpan<byte> target)
    {
        foreach (IInternalIterator child in children)
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
            foreach (IInternalIterator child in children)
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
        }

        current.Next();
        FindSmallest();
    }

    public void Prev()
    {
        IInternalIterator current = Current;
        if (_forward)
        {
            byte[] key = current.Key.ToArray();
            foreach (IInternalIterator child in children)
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
        foreach (IInternalIterator child in children)
        {
            child.Dispose();
        }
    }

    private void FindSmallest()
    {
        IInternalIterator? smallest = null;
        foreach (IInternalIterator child in children)
        {
            if (child.Valid && (smallest == null || InternalKeyComparer.Compare(child.Key, smallest.Key) < 0))
            {
                smallest = child;
            }
        }

        _current = smallest;
    }

    private void FindLargest()
    {
        IInternalIterator? largest = null;
        for (int i = children.Count - 1; i >= 0; i--)
        {
            IInternalIterator child = children[i];
            if (child.Valid && (largest == null || InternalKeyComparer.Compare(child.Key, largest.Key) > 0))
            {
                largest = child;
            }
        }

        _current = largest;
    }
}
