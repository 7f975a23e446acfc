using System.CommandLine;
using KvStore.Server.Cli;

// The `kvstore` executable. Signals are handled by the verbs themselves (ShutdownSignal), so
// System.CommandLine's own termination handling is off.
return await KvStoreCommandLine.Build().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
