namespace KvStore.Storage.Lsm;

/// <summary>
/// A user-level cursor over the database as of one sequence number: each user key appears once
/// with its newest visible value; deleted keys and older versions are hidden (LevelDB's DBIter).
/// Holds the memtables and the table version it started with, so background compaction never
/// changes what it sees. Not thread-safe; dispose it to release the tables.
/// </summary>
/// <remarks>
/// Moving forward, the inner cursor sits on the entry that supplies <see cref="Key"/>. Moving
/// backward, it sits just before all entries of <see cref="Key"/>, and the key and value are
/// held in saved copies.
/// </remarks>
public sealed class LsmIterator : IDisposable
{
    private readonly IInternalIterator _inner;
    private readonly ulong _sequence;
    private readonly byte[]? _lower;
    private readonly byte[]? _upper;
    private readonly Action _release;
    private bool _forward = true;
    private bool _valid;
    private byte[] _savedKey = [];
    private byte[] _savedValue = [];
    private bool _disposed;

    // The user key whose older entries forward movement skips; reused to keep Next allocation-free.
    private byte[] _skip = new byte[64];
    private int _skipLength;

    internal LsmIterator(IInternalIterator inner, ulong sequence, byte[]? lower, byte[]? upper, Action release)
    {
        _inner = inner;
        _sequence = sequence;
        _lower = lower;
        _upper = upper;
        _release = release;
    }

    public bool Valid => _valid;

    public ReadOnlySpan<byte> Key
    {
        get
        {
            EnsureValid();
            return _forward ? InternalKey.UserKey(_inner.Key) : _savedKey;
        }
    }

    public ReadOnlySpan<byte> Value
    {
        get
        {
            EnsureValid();
            return _forward ? _inner.Value : _savedValue;
        }
    }

    public void SeekToFirst()
    {
        if (_lower != null)
        {
            Seek(_lower);
            return;
        }

        _forward = true;
        _inner.SeekToFirst();
        FindNextUserEntry(false);
    }

    public void SeekToLast()
    {
        _forward = false;
        if (_upper != null)
        {
            _inner.Seek(InternalKey.Encode(_upper, InternalKey.MaxSequence, ValueKind.Value));
            if (_inner.Valid)
            {
                _inner.Prev();
            }
            else
            {
                _inner.SeekToLast();
            }
        }
        else
        {
            _inner.SeekToLast();
        }

        FindPrevUserEntry();
    }

    /// <summary>Positions at the first key ≥ <paramref name="key"/> (within the bounds).</summary>
    public void Seek(ReadOnlySpan<byte> key)
    {
        if (_lower != null && key.SequenceCompareTo(_lower) < 0)
        {
            key = _lower;
        }

        _forward = true;
        _inner.Seek(InternalKey.SeekKey(key, _sequence));
        FindNextUserEntry(false);
    }

    /// <summary>Positions at the last key ≤ <paramref name="key"/> (within the bounds).</summary>
    public void SeekForPrev(ReadOnlySpan<byte> key)
    {
        Seek(key);
        if (!_valid)
        {
            SeekToLast();
        }
        else if (Key.SequenceCompareTo(key) > 0)
        {
            Prev();
        }
    }

    public void Next()
    {
        EnsureValid();
        if (!_forward)
        {
            // The inner cursor is before all entries of the saved key: step into them, then past them.
            _forward = true;
            if (_inner.Valid)
            {
                _inner.Next();
            }
            else
            {
                _inner.SeekToFirst();
            }

            SetSkip(_savedKey);
            FindNextUserEntry(true);
            return;
        }

        SetSkip(InternalKey.UserKey(_inner.Key));
        _inner.Next();
        FindNextUserEntry(true);
    }

    public void Prev()
    {
        EnsureValid();
        if (_forward)
        {
            // Step back over every entry of the current key.
            _savedKey = InternalKey.UserKey(_inner.Key).ToArray();
            while (true)
            {
                _inner.Prev();
                if (!_inner.Valid)
                {
                    break;
                }

                if (InternalKey.UserKey(_inner.Key).SequenceCompareTo(_savedKey) < 0)
                {
                    break;
                }
            }

            _forward = false;
            if (!_inner.Valid)
            {
                _valid = false;
                _savedKey = [];
                return;
            }
        }

        FindPrevUserEntry();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _inner.Dispose();
        _release();
    }

    private void SetSkip(ReadOnlySpan<byte> userKey)
    {
        if (_skip.Length < userKey.Length)
        {
            _skip = new byte[Math.Max(userKey.Length, _skip.Length * 2)];
        }

        userKey.CopyTo(_skip);
        _skipLength = userKey.Length;
    }

    /// <summary>Moves forward to the next visible value, skipping (when <paramref name="skipping"/>) entries of user keys ≤ the skip key.</summary>
    private void FindNextUserEntry(bool skipping)
    {
        while (_inner.Valid)
        {
            ReadOnlySpan<byte> key = _inner.Key;
            ReadOnlySpan<byte> userKey = InternalKey.UserKey(key);
            if (_upper != null && userKey.SequenceCompareTo(_upper) >= 0)
            {
                break;
            }

            if (InternalKey.Sequence(key) <= _sequence)
            {
                if (InternalKey.Kind(key) == ValueKind.Deletion)
                {
                    // Hide this key's older versions.
                    SetSkip(userKey);
                    skipping = true;
                }
                else if (!(skipping && userKey.SequenceCompareTo(_skip.AsSpan(0, _skipLength)) <= 0))
                {
                    _valid = true;
                    _savedKey = [];
                    return;
                }
            }

            _inner.Next();
        }

        _valid = false;
        _savedKey = [];
    }

    private void FindPrevUserEntry()
    {
        ValueKind kind = ValueKind.Deletion;
        while (_inner.Valid)
        {
            ReadOnlySpan<byte> key = _inner.Key;
            ReadOnlySpan<byte> userKey = InternalKey.UserKey(key);
            if (_lower != null && userKey.SequenceCompareTo(_lower) < 0)
            {
                break;
            }

            if (InternalKey.Sequence(key) <= _sequence)
            {
                if (kind != ValueKind.Deletion && userKey.SequenceCompareTo(_savedKey) < 0)
                {
                    // Reached the entries of an earlier key: the saved one is the answer.
                    break;
                }

                kind = InternalKey.Kind(key);
                if (kind == ValueKind.Deletion)
                {
                    _savedKey = [];
                    _savedValue = [];
                }
                else
                {
                    _savedKey = userKey.ToArray();
                    _savedValue = _inner.Value.ToArray();
                }
            }

            _inner.Prev();
        }

        if (kind == ValueKind.Deletion)
        {
            _valid = false;
            _savedKey = [];
            _forward = true;
        }
        else
        {
            _valid = true;
        }
    }

    private void EnsureValid()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_valid)
        {
            throw new InvalidOperationException("iterator is not positioned on a key");
        }
    }
}
