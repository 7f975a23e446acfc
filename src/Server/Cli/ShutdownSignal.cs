using System.Runtime.InteropServices;

namespace KvStore.Server.Cli;

/// <summary>
/// Turns SIGINT (Ctrl-C), SIGTERM and SIGQUIT into a cancellation, so that `serve` and
/// `cluster up` shut down cleanly instead of being torn down by the runtime.
/// </summary>
public sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration[] _registrations;

    public ShutdownSignal()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, Handle),
        ];
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>Cancels <see cref="Token"/> as if a signal had arrived.</summary>
    public void Trigger() => _cts.Cancel();

    public void Dispose()
    {
        foreach (PosixSignalRegistration r in _registrations)
        {
            r.Dispose();
        }

        _cts.Dispose();
    }

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        _cts.Cancel();
    }
}
