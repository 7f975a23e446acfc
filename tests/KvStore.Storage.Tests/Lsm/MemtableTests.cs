using System.Text;
using KvStore.Storage.Lsm;

namespace KvStore.Storage.Tests.Lsm;

public sealed class MemtableTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Get_returns_the_newest_version_visible_at_the_sequence()
    {
        var mem = new Memtable(0);
        mem.Add(1, ValueKind.Value, B("k"), B("v1"));
        mem.Add(5, ValueKind.Deletion, B("k"), []);
        mem.Add(9, ValueKind.Value, B("k"), B("v9"));
        mem.Add(2, ValueKind.Value, B("ka"), B("other"));

        Assert.False(mem.TryGet(B("k"), 0, out _, out _));
        Assert.True(mem.TryGet(B("k"), 4, out ValueKind kind, out byte[] value));
        Assert.Equal((ValueKind.Value, "v1"), (kind, Encoding.UTF8.GetString(value)));
        Assert.True(mem.TryGet(B("k"), 5, out kind, out _));
        Assert.Equal(ValueKind.Deletion, kind);
        Assert.True(mem.TryGet(B("k"), 100, out _, out value));
        Assert.Equal("v9", Encoding.UTF8.GetString(value));
        Assert.False(mem.TryGet(B("j"), 100, out _, out _));
    }

    [Fact]
    public void Iterator_walks_internal_key_order_both_ways()
    {
        var mem = new Memtable(0);
        var rng = new Random(1);
        var expected = new List<byte[]>();
        for (ulong seq = 1; seq <= 2000; seq++)
        {
            byte[] key = B($"key{rng.Next(500):D3}");
            mem.Add(seq, ValueKind.Value, key, B(new string('v', rng.Next(3000))));
            expected.Add(InternalKey.Encode(key, seq, ValueKind.Value));
        }

        expected.Sort(InternalKeyComparer.Instance);
        using IInternalIterator it = mem.NewIterator();
        var forward = new List<byte[]>();
        for (it.SeekToFirst(); it.Valid; it.Next())
        {
            forward.Add(it.Key.ToArray());
        }

        var backward = new List<byte[]>();
        for (it.SeekToLast(); it.Valid; it.Prev())
        {
            backward.Add(it.Key.ToArray());
        }

        backward.Reverse();
        Assert.Equal(expected, forward);
        Assert.Equal(expected, backward);
        it.Seek(expected[777]);
        Assert.Equal(expected[777], it.Key.ToArray());
    }

    [Fact]
    public void Readers_during_inserts_always_see_a_sorted_list_that_only_grows()
    {
        var mem = new Memtable(0);
        const int total = 20000;
        var writer = new Thread(() =>
        {
            var rng = new Random(2);
            for (ulong seq = 1; seq <= total; seq++)
            {
                mem.Add(seq, ValueKind.Value, B($"key{rng.Next(100000):D6}"), B("v"));
            }
        });
        string? problem = null;
        writer.Start();
        long lastCount = 0;
        while (writer.IsAlive || lastCount < total)
        {
            long count = 0;
            byte[]? previous = null;
            using IInternalIterator it = mem.NewIterator();
            for (it.SeekToFirst(); it.Valid; it.Next())
            {
                if (previous != null && InternalKeyComparer.Compare(previous, it.Key) >= 0)
                {
                    problem = "out of order";
                }

                previous = it.Key.ToArray();
                count++;
            }

            if (count < lastCount)
            {
                problem = $"list shrank from {lastCount} to {count}";
            }

            lastCount = count;
            if (problem != null || (!writer.IsAlive && count == total))
            {
                break;
            }
        }

        writer.Join();
        Assert.Null(problem);
        Assert.Equal(total, mem.Count);
    }
}
