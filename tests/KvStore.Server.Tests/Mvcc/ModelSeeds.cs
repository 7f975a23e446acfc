namespace KvStore.Server.Tests.Mvcc;

/// <summary>
/// Which seeds the randomized model tests run: <c>KVSTORE_MODEL_SEED=N</c> replays one seed;
/// <c>KVSTORE_MODEL_SEEDS=N</c> runs seeds 0..N-1 instead of the CI default.
/// </summary>
internal static class ModelSeeds
{
    public static IEnumerable<int> Get(int ciDefault)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("KVSTORE_MODEL_SEED"), out int one))
        {
            return [one];
        }

        int count = int.TryParse(Environment.GetEnvironmentVariable("KVSTORE_MODEL_SEEDS"), out int n) ? n : ciDefault;
        return Enumerable.Range(0, count);
    }

    /// <summary>Runs <paramref name="body"/> for each seed; a failure names the seed and how to replay it.</summary>
    public static void Run(int ciDefault, Action<int> body)
    {
        foreach (int seed in Get(ciDefault))
        {
            try
            {
                body(seed);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed} failed (replay with KVSTORE_MODEL_SEED={seed}): {e}");
            }
        }
    }
}
