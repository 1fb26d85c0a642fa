// smmu-monitor: watch a live process that runs the SMMU model. See Cli/CommandLine.cs (Usage) and docs/monitoring.md.
using Smmu.Monitor.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;   // stop cleanly: end the EventPipe session, then exit 0
    cancel.Cancel();
};
return await MonitorCli.RunAsync(args, Console.Out, Console.Error, cancel.Token);
