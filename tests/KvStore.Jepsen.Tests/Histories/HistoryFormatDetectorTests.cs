using KvStore.Jepsen.Histories;

namespace KvStore.Jepsen.Tests.Histories;

public sealed class HistoryFormatDetectorTests
{
    [Theory]
    [InlineData("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}", HistoryFormat.JsonLines)]
    [InlineData("\n  { \"process\":0}", HistoryFormat.JsonLines)]
    [InlineData("{:process 0, :type :invoke, :f :get, :key \"1\", :value nil}", HistoryFormat.Edn)]
    [InlineData("INFO  jepsen.core - starting\nINFO  jepsen.util - 0\t:invoke\t:read\tnil", HistoryFormat.JepsenLog)]
    public void Recognises_each_format(string content, HistoryFormat expected)
    {
        Assert.Equal(expected, HistoryFormatDetector.Detect("h", content));
    }

    [Theory]
    [InlineData("")]
    [InlineData("process,type,f\n0,invoke,read")]
    public void Unrecognisable_content_is_an_error_naming_the_file(string content)
    {
        var error = Assert.Throws<HistoryFormatException>(() => HistoryFormatDetector.Detect("mystery.txt", content));

        Assert.StartsWith("mystery.txt:0: cannot tell the history format", error.Message);
    }
}
