using NPipes.Bench;

// dotnet run -c Release --project bench/NPipes.Bench [-- --quick] [--runs N] [--only NAME[,NAME]]
// The program re-launches itself as the peer process with "--bench-peer ROLE ...".
GrpcFigure.Register(); // the gRPC baseline (its own project, so that the runner library needs no ASP.NET Core)
if (args.Length > 0 && args[0] == BenchRunner.PeerArgument)
{
    return await BenchRunner.RunPeerAsync(args[1..]);
}
if (!BenchOptions.TryParse(args, out BenchOptions? options, out string? error))
{
    Console.Error.WriteLine("npipes-bench: " + error);
    Console.Error.WriteLine("usage: NPipes.Bench [--quick] [--runs N] [--only FIGURE[,FIGURE...]]");
    return 2;
}
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
return await BenchRunner.RunAsync(options!, Console.Out, cts.Token);
