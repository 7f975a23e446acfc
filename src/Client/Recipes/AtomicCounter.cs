using System.Globalization;
using System.Text;

namespace KvStore.Client.Recipes;

/// <summary>
/// A 64-bit counter in one key, stored as a decimal string. Every change is a compare-and-swap
/// transaction on the key's mod revision: it applies only if nobody wrote the key since it was
/// read, and otherwise retries from the value the failed transaction read back. Retries of one
/// attempt travel in the client's exactly-once session, so no increment is applied twice.
/// </summary>
/// <example>
/// <code>
/// var visits = new AtomicCounter(client, "stats/visits");
/// long now = await visits.IncrementAsync();
/// </code>
/// </example>
public sealed class AtomicCounter
{
    private readonly KvStoreClient _client;

    /// <summary>Creates the counter at <paramref name="key"/> (no call is made; a missing key counts as 0).</summary>
    public AtomicCounter(KvStoreClient client, string key)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(key);
        _client = client;
        Key = key;
    }

    /// <summary>The key holding the counter.</summary>
    public string Key { get; }

    /// <summary>The counter's value (linearizable read); 0 if the key does not exist.</summary>
    /// <exception cref="FormatException">The key holds something other than a decimal integer.</exception>
    public async Task<long> GetAsync(CancellationToken cancellationToken = default) =>
        Parse(await _client.GetAsync(Key, cancellationToken: cancellationToken).ConfigureAwait(false));

    /// <summary>Adds one and returns the new value.</summary>
    public Task<long> IncrementAsync(CancellationToken cancellationToken = default) => AddAsync(1, cancellationToken);

    /// <summary>Subtracts one and returns the new value.</summary>
    public Task<long> DecrementAsync(CancellationToken cancellationToken = default) => AddAsync(-1, cancellationToken);

    /// <summary>Adds <paramref name="delta"/> atomically and returns the new value.</summary>
    /// <exception cref="OverflowException">The sum does not fit in 64 bits (nothing is written).</exception>
    /// <exception cref="FormatException">The key holds something other than a decimal integer.</exception>
    public async Task<long> AddAsync(long delta, CancellationToken cancellationToken = default)
    {
        KvPair? current = await _client.GetAsync(Key, cancellationToken: cancellationToken).ConfigureAwait(false);
        while (true)
        {
            long next = checked(Parse(current) + delta);
            TxnResult result = await _client.Txn()
                .If(Cmp.ModRevision(Key) == (current?.ModRevision ?? 0))
                .Then(Op.Put(Key, next.ToString(CultureInfo.InvariantCulture)))
                .Else(Op.Get(Key))
                .CommitAsync(cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return next;
            }

            current = result.Results[0].Range?.Kvs.FirstOrDefault();
        }
    }

    private long Parse(KvPair? kv)
    {
        if (kv is null)
        {
            return 0;
        }

        string text = Encoding.UTF8.GetString(kv.Value.Span);
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new FormatException($"counter {Key} holds \"{text}\" (revision {kv.ModRevision}), not a decimal integer");
    }
}
