// Smmu.Bench: one console app for the seed demo, the BenchmarkDotNet suite and the scaling plots.
//   dotnet run -c Release --project bench -- seed              the seed scenario, ASID tagging vs flush, the Adreno split, a nested VM
//   dotnet run -c Release --project bench -- plots [outdir]    Stopwatch sweeps drawn as PNG + CSV (default docs/plots)
//   dotnet run -c Release --project bench -- monitor-cost [n]  the hit path under each monitoring listener, interleaved (docs/monitoring.md)
//   dotnet run -c Release --project bench -- --filter '*Hit*'  anything else goes to BenchmarkDotNet
using BenchmarkDotNet.Running;
using Smmu.Bench.Benchmarks;
using Smmu.Bench.Plots;
using Smmu.Bench.Seed;

return args switch
{
    ["seed"] => SeedCommand.Run(Console.Out),
    ["plots", .. var rest] => PlotCommand.Run(rest.Length > 0 ? rest[0] : null, Console.Out),
    ["monitor-cost", .. var rounds] => MonitorCostCommand.Run(rounds.Length > 0 ? int.Parse(rounds[0]) : 61, Console.Out),
    _ => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args).Any(s => s.HasCriticalValidationErrors) ? 1 : 0,
};
