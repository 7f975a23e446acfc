using Google.Protobuf;
using KvStore.Client.Protocol;
using KvStore.Client.Protocol.Messages;

namespace KvStore.Client.Tests.Protocol;

// The SDK's KvStore.Client.Compare / KeyValue would shadow the wire messages here.
using Compare = KvStore.Client.Protocol.Messages.Compare;
using KeyValue = KvStore.Client.Protocol.Messages.KeyValue;

public sealed class RequestLimitValidatorTests
{
    private static readonly ProtocolLimits Limits = ProtocolLimits.Default with { MaxKeyBytes = 10, MaxValueBytes = 20, MaxOpsPerTxn = 3 };

    private static ByteString Bytes(int length) => ByteString.CopyFrom(new byte[length]);

    [Fact]
    public void Requests_exactly_at_the_limits_pass()
    {
        var txn = new TxnRequest
        {
            Compare = { Enumerable.Range(0, 3).Select(_ => new Compare { Key = Bytes(10), Value = Bytes(20) }) },
            Success = { Enumerable.Range(0, 3).Select(_ => new RequestOp { RequestPut = new PutRequest { Key = Bytes(10), Value = Bytes(20) } }) },
            Failure = { new RequestOp { RequestRange = new RangeRequest { Key = Bytes(10), RangeEnd = Bytes(10) } } },
        };

        Assert.Null(RequestLimitValidator.Validate(txn, Limits));
        Assert.Null(RequestLimitValidator.Validate(new PutRequest { Key = Bytes(10), Value = Bytes(20) }, Limits));
        Assert.Null(RequestLimitValidator.Validate(new StatusRequest(), Limits));
    }

    [Fact]
    public void A_long_range_end_counts_as_a_long_key()
    {
        var error = RequestLimitValidator.Validate(new RangeRequest { Key = Bytes(1), RangeEnd = Bytes(11) }, Limits);

        Assert.NotNull(error);
        Assert.Equal(ErrorCode.KeyTooLarge, error.Code);
        Assert.Equal("range end is 11 bytes, over the limit MaxKeyBytes = 10 bytes", error.Message);
    }

    [Fact]
    public void A_compare_against_an_oversized_value_is_refused()
    {
        var txn = new TxnRequest { Compare = { new Compare { Key = Bytes(1), Target = Compare.Types.CompareTarget.Value, Value = Bytes(21) } } };

        var error = RequestLimitValidator.Validate(txn, Limits);

        Assert.Equal(ErrorCode.ValueTooLarge, error?.Code);
        Assert.Equal(ProtocolLimits.MaxValueBytesName, error?.LimitName);
    }

    [Theory]
    [InlineData("compare")]
    [InlineData("success")]
    [InlineData("failure")]
    public void Each_list_of_a_transaction_is_bounded_by_MaxOpsPerTxn(string list)
    {
        var txn = new TxnRequest();
        for (int i = 0; i < 4; i++)
        {
            var op = new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Bytes(1) } };
            switch (list)
            {
                case "compare": txn.Compare.Add(new Compare { Key = Bytes(1) }); break;
                case "success": txn.Success.Add(op); break;
                default: txn.Failure.Add(op); break;
            }
        }

        var error = RequestLimitValidator.Validate(txn, Limits);

        Assert.Equal(ErrorCode.TooManyOps, error?.Code);
        Assert.Equal(3, error?.LimitValue);
        Assert.Equal(4, error?.ActualValue);
    }

    [Fact]
    public void Nested_transactions_are_checked()
    {
        var inner = new TxnRequest();
        for (int i = 0; i < 4; i++)
        {
            inner.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = Bytes(1) } });
        }

        var outer = new TxnRequest { Failure = { new RequestOp { RequestTxn = inner } } };

        Assert.Equal(ErrorCode.TooManyOps, RequestLimitValidator.Validate(outer, Limits)?.Code);
    }
}
