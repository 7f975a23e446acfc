namespace KvStore.Client.Routing;

/// <summary>
/// Which endpoint to try next: the leader if one is known (from a successful write or a
/// not-leader hint), otherwise the configured endpoints in turn.
/// </summary>
internal sealed class LeaderTracker
{
    private readonly EndpointAddress[] _endpoints;
    private readonly object _gate = new();
    private EndpointAddress? _leader;
    private int _cursor;

    public LeaderTracker(IEnumerable<EndpointAddress> endpoints)
    {
        _endpoints = endpoints.Distinct().ToArray();
        if (_endpoints.Length == 0)
        {
            throw new ArgumentException("at least one endpoint is required", nameof(endpoints));
        }
    }

    /// <summary>The configured endpoints, without duplicates.</summary>
    public IReadOnlyList<EndpointAddress> Endpoints => _endpoints;

    /// <summary>The leader as last learned, or null.</summary>
    public EndpointAddress? Leader
    {
        get
        {
            lock (_gate)
            {
                return _leader;
            }
        }
    }

    /// <summary>The endpoint a new call starts with.</summary>
    public EndpointAddress Preferred
    {
        get
        {
            lock (_gate)
            {
                return _leader ?? _endpoints[_cursor];
            }
        }
    }

    /// <summary>Records the leader; returns true when it changed.</summary>
    public bool SetLeader(EndpointAddress leader)
    {
        lock (_gate)
        {
            bool changed = _leader != leader;
            _leader = leader;
            return changed;
        }
    }

    /// <summary>Forgets <paramref name="endpoint"/> as the leader (it failed or denied being it) and returns the endpoint to try next.</summary>
    public EndpointAddress Next(EndpointAddress endpoint)
    {
        lock (_gate)
        {
            if (_leader == endpoint)
            {
                _leader = null;
            }

            int index = Array.IndexOf(_endpoints, endpoint);
            _cursor = index < 0 ? _cursor : (index + 1) % _endpoints.Length;
            return _leader ?? _endpoints[_cursor];
        }
    }
}
