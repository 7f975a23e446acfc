using Microsoft.Extensions.Logging;

namespace KvStore.Server.Cli;

/// <summary>
/// Log lines on stderr (`time level category: message`), for `kvstore serve`. A broken stderr
/// (the `cluster up` that read it was killed) never stops the server: the line is dropped.
/// </summary>
public sealed class StderrLoggerFactory(LogLevel minimum) : ILoggerFactory
{
    private readonly object _lock = new();
    private readonly LogLevel _minimum = minimum;

    public ILogger CreateLogger(string categoryName) => new StderrLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("this factory writes to stderr only");

    public void Dispose()
    {
    }

    private void Write(string line)
    {
        lock (_lock)
        {
            try
            {
                Console.Error.WriteLine(line);
            }
            catch (IOException)
            {
                // Nobody reads our stderr any more.
            }
        }
    }

    private sealed class StderrLogger(StderrLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= factory._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            string line = $"{DateTime.UtcNow:HH:mm:ss.fff} {Level(logLevel)} {category}: {formatter(state, exception)}";
            if (exception is not null)
            {
                line += Environment.NewLine + exception;
            }

            factory.Write(line);
        }

        private static string Level(LogLevel level) => level switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
    }
}
