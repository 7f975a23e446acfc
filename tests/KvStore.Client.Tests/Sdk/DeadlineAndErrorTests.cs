using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Sdk;

public sealed class DeadlineAndErrorTests
{
    [Fact]
    public async Task A_member_that_never_answers_makes_the_call_fail_with_a_timeout_at_its_deadline()
    {
        await using var member = new ScriptedMember("n1");
        member.Behaviour = Answers.Silent();
        await using var client = new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = [member.Endpoint],
            RequestTimeout = TimeSpan.FromMilliseconds(200),
        });

        var error = await Assert.ThrowsAsync<KvStoreTimeoutException>(() => client.PutAsync("k", "v").WaitAsync(Answers.HangGuard));

        Assert.Contains("PutRequest", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cluster_that_stays_unavailable_times_out_and_the_timeout_names_the_last_failure()
    {
        await using var member = new ScriptedMember("n1");
        member.Behaviour = (_, _, _) => throw new KvStoreProtocolException(ErrorCode.Unavailable, "no quorum");
        await using var client = new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = [member.Endpoint],
            RequestTimeout = TimeSpan.FromMilliseconds(300),
            RetryBackoffMin = TimeSpan.FromMilliseconds(5),
            RetryBackoffMax = TimeSpan.FromMilliseconds(20),
        });

        var error = await Assert.ThrowsAsync<KvStoreTimeoutException>(() => client.GetAsync("k").WaitAsync(Answers.HangGuard));

        var last = Assert.IsType<KvStoreProtocolException>(error.InnerException);
        Assert.Equal(ErrorCode.Unavailable, last.Code);
        Assert.Contains("no quorum", error.Message, StringComparison.Ordinal);
        Assert.True(member.Count(FrameType.RangeRequest) > 1);
    }

    [Fact]
    public async Task Cancelling_the_callers_token_cancels_the_call_and_is_not_reported_as_a_timeout()
    {
        await using var member = new ScriptedMember("n1");
        member.Behaviour = Answers.Silent();
        await using var client = new KvStoreClient(new KvStoreClientOptions
        {
            Endpoints = [member.Endpoint],
            RequestTimeout = Timeout.InfiniteTimeSpan,
        });
        using var cancel = new CancellationTokenSource();

        var call = client.GetAsync("k", cancellationToken: cancel.Token);
        while (member.Count(FrameType.RangeRequest) == 0)
        {
            await Task.Delay(5).WaitAsync(Answers.HangGuard);
        }

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Answers.HangGuard));
    }

    [Fact]
    public async Task A_compacted_revision_raises_the_typed_compacted_exception_without_retrying()
    {
        await using var member = new ScriptedMember("n1");
        member.Behaviour = (_, _, _) => throw new KvStoreProtocolException(ErrorCode.Compacted, "revision 3 is compacted (compact revision 10)");
        await using var client = new KvStoreClient(member.Endpoint);

        var error = await Assert.ThrowsAsync<KvStoreCompactedException>(
            () => client.GetAsync("k", new GetOptions { Revision = 3 }).WaitAsync(Answers.HangGuard));

        Assert.Contains("compact revision 10", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, member.Count(FrameType.RangeRequest));
    }

    [Fact]
    public async Task A_limit_error_reaches_the_caller_as_the_limit_exception()
    {
        await using var member = new ScriptedMember("n1");
        member.Behaviour = (_, _, _) => throw new InvalidOperationException("the listener should have refused it");
        await using var client = new KvStoreClient(member.Endpoint);

        var error = await Assert.ThrowsAsync<KvStoreLimitExceededException>(
            () => client.PutAsync(new string('k', ProtocolLimits.Default.MaxKeyBytes + 1), "v").WaitAsync(Answers.HangGuard));

        Assert.Equal(ProtocolLimits.MaxKeyBytesName, error.LimitName);
    }
}
