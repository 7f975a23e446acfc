using System.Text;
using KvStore.Storage.IO;
using KvStore.Storage.Lsm;

namespace KvStore.Storage.Tests.Lsm;

/// <summary>
/// A write scope (one thread holding the writer queue for a run of writes, as the Raft apply loop does per
/// batch of entries): writes stay visible at once, other writers wait, and the memtable holds whole scopes.
/// </summary>
public sealed class LsmWriteScopeTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static LsmOptions NoWal(IFileSystem fs) => LsmDatabaseTests.SmallOptions(fs) with { UseWal = false };

    [Fact]
    public void Writes_in_a_scope_are_readable_at_once_and_other_writers_wait_for_the_scope_to_end()
    {
        using var db = LsmDatabase.Open("/db", NoWal(new FaultInjectingFileSystem()));
        using var otherDone = new ManualResetEventSlim(false);
        var other = new Thread(() =>
        {
            db.Put(B("b"), B("2"));
            otherDone.Set();
        });
        using (db.BeginWriteScope())
        {
            db.Put(B("a"), B("1"));
            Assert.True(db.TryGet(B("a"), out byte[] a));
            Assert.Equal(B("1"), a);

            other.Start();
            // The other thread's write is queued behind the scope (it cannot finish however long we wait); this thread's writes go on.
            Assert.False(otherDone.Wait(200));
            db.Put(B("c"), B("3"));
            Assert.False(db.TryGet(B("b"), out _));
            Assert.Throws<InvalidOperationException>(() => db.Flush());
        }

        Assert.True(otherDone.Wait(TimeSpan.FromSeconds(30)));
        Assert.True(db.TryGet(B("b"), out byte[] b));
        Assert.Equal(B("2"), b);
        Assert.True(db.TryGet(B("c"), out _));
    }

    [Fact]
    public void Without_a_WAL_a_crash_keeps_whole_scopes_only()
    {
        var fs = new FaultInjectingFileSystem();
        var db = LsmDatabase.Open("/db", NoWal(fs));
        var scopeEnds = new List<long> { 0 };
        long index = 0;
        var random = new Random(7);
        for (int scope = 0; scope < 40; scope++)
        {
            using (db.BeginWriteScope())
            {
                // Each scope writes several memtables' worth at times: the memtable is still not switched inside it.
                int writes = random.Next(1, 30);
                for (int i = 0; i < writes; i++)
                {
                    index++;
                    var batch = new WriteBatch();
                    batch.Put(B($"key{index % 50:D2}"), new byte[300]);
                    db.Write(batch, new WriteOptions { AppliedIndex = index });
                }
            }

            scopeEnds.Add(index);
        }

        db.Flush();
        long flushedThrough = index;
        using (db.BeginWriteScope())
        {
            var batch = new WriteBatch();
            batch.Put(B("lost"), B("x"));
            db.Write(batch, new WriteOptions { AppliedIndex = index + 1 });
        }

        fs.Crash();
        db.Dispose();
        using var reopened = LsmDatabase.Open("/db", NoWal(fs));

        Assert.Contains(reopened.AppliedIndex, scopeEnds);
        Assert.Equal(flushedThrough, reopened.AppliedIndex);
        Assert.False(reopened.TryGet(B("lost"), out _));
    }
}
