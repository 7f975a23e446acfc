using System.Runtime.CompilerServices;
using Google.Protobuf;
using KvStore.Client.Protocol.Messages;
using KvStore.Client.Routing;
using Microsoft.Extensions.Logging;

namespace KvStore.Client.Watch;

/// <summary>
/// A watch that survives connection and node failures: it resumes on the next endpoint from the
/// revision after the last one it delivered (or after the last progress bookmark), so the caller
/// sees every revision once, in order, with no gap.
/// </summary>
/// <remarks>
/// Any member serves a watch from its own applied state, and every member applies the same
/// committed log, so revision N holds the same events everywhere: resuming at N+1 elsewhere
/// continues the same history. A lagging member simply delivers N+1 once it has applied it.
/// </remarks>
internal static class WatchSubscription
{
    public static async IAsyncEnumerable<WatchBatch> RunAsync(
        KvStoreClientOptions options,
        Func<ulong> clientId,
        WatchCreateRequest request,
        ILogger logger,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        EndpointAddress[] endpoints = options.Endpoints.Select(EndpointAddress.Parse).ToArray();
        var backoff = new RetryBackoff(options.RetryBackoffMin, options.RetryBackoffMax);
        int endpoint = Random.Shared.Next(endpoints.Length);
        int failures = 0;

        // The first revision not yet delivered; 0 until the first server has said where "now" is.
        long next = request.StartRevision;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            WatchCreateRequest attempt = request.Clone();
            attempt.StartRevision = next;
            WatchSession? session = await TryOpenAsync(endpoints[endpoint], attempt, options, clientId(), logger, cancellationToken).ConfigureAwait(false);
            try
            {
                if (session is not null)
                {
                    if (session.Created.Canceled)
                    {
                        throw Canceled(session.Created.CompactRevision, session.Created.CancelReason);
                    }

                    if (next == 0)
                    {
                        next = session.Created.Header.Revision + 1;
                    }

                    while (await TryReadAsync(session, cancellationToken).ConfigureAwait(false) is { } frame)
                    {
                        failures = 0;
                        if (frame.Canceled)
                        {
                            throw Canceled(frame.CompactRevision, frame.CancelReason);
                        }

                        long revision = frame.Events.Count > 0 ? frame.Events[0].Kv.ModRevision : frame.Header.Revision;
                        if (frame.ProgressNotify && frame.Events.Count == 0)
                        {
                            // Bookmark: nothing of this watch at or below it is still to come.
                            next = Math.Max(next, revision + 1);
                            yield return new WatchBatch(revision, [], IsProgress: true);
                            continue;
                        }

                        if (revision < next)
                        {
                            // Already delivered (a server never repeats one, but a resumed watch must not either).
                            continue;
                        }

                        next = revision + 1;
                        yield return new WatchBatch(revision, frame.Events.Select(WatchEvent.FromMessage).ToArray(), IsProgress: false);
                    }
                }
            }
            finally
            {
                if (session is not null)
                {
                    await session.DisposeAsync().ConfigureAwait(false);
                }
            }

            endpoint = (endpoint + 1) % endpoints.Length;
            await Task.Delay(backoff.Delay(failures++), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The watch request for <paramref name="key"/> and <paramref name="options"/>.</summary>
    public static WatchCreateRequest Request(ReadOnlyMemory<byte> key, WatchOptions options)
    {
        if (key.IsEmpty)
        {
            throw new ArgumentException("a watch needs a key (or a prefix)", nameof(key));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.StartRevision);
        var request = new WatchCreateRequest
        {
            Key = ByteString.CopyFrom(key.Span),
            StartRevision = options.StartRevision,
            PrevKv = options.PrevKv,
            ProgressNotify = options.ProgressNotify,
        };
        if (options.RangeEnd is { IsEmpty: false } end)
        {
            request.RangeEnd = ByteString.CopyFrom(end.Span);
        }
        else if (options.Prefix)
        {
            request.RangeEnd = ByteString.CopyFrom(KeyRanges.PrefixEnd(key.Span));
        }

        if (options.NoPut)
        {
            request.Filters.Add(WatchCreateRequest.Types.FilterType.Noput);
        }

        if (options.NoDelete)
        {
            request.Filters.Add(WatchCreateRequest.Types.FilterType.Nodelete);
        }

        return request;
    }

    private static KvStoreProtocolException Canceled(long compactRevision, string reason) => compactRevision > 0
        ? new WatchCompactedException(compactRevision, string.IsNullOrEmpty(reason) ? $"the watch needs revisions below the compacted revision {compactRevision}" : reason)
        : new WatchCanceledException(string.IsNullOrEmpty(reason) ? "the server canceled the watch" : reason);

    private static async Task<WatchSession?> TryOpenAsync(
        EndpointAddress endpoint, WatchCreateRequest request, KvStoreClientOptions options, ulong clientId, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            return await WatchSession.OpenAsync(endpoint, request, options, clientId, logger, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex) && !cancellationToken.IsCancellationRequested)
        {
            logger.LogDebug(ex, "watch: {Endpoint} cannot serve the watch now", endpoint);
            return null;
        }
    }

    private static async Task<WatchEvents?> TryReadAsync(WatchSession session, CancellationToken cancellationToken)
    {
        try
        {
            return await session.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (KvStoreConnectionException)
        {
            return null;
        }
    }

    private static bool IsTransient(Exception ex) => ex switch
    {
        KvStoreConnectionException => true,
        KvStoreTimeoutException => true,
        KvStoreProtocolException p => p.Code is ErrorCode.Unavailable or ErrorCode.Timeout or ErrorCode.NotLeader,
        _ => false,
    };
}
