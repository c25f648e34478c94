using System;
using System.Threading;
using System.Threading.Tasks;
using NPipes;

namespace Net48Compile;

/// <summary>
/// What a .NET Framework 4.8 app writes with NPipes: a request/response server and a persistent client, and npipes'
/// one-message API. Compiled in CI against the packed package; run it with a pipe name to try it on Windows.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        string name = args.Length > 0 ? args[0] : "net48-demo";
        var options = new NPipesOptions { Timeout = TimeSpan.FromSeconds(5), Frame = new FrameOptions { Crc = true } };
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await using (PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = options }))
        {
            Task serving = server.ServeRequestsAsync((string request, CancellationToken ct) => new ValueTask<string>(request.ToUpperInvariant()), stop.Token);
            await using (PipeConnection connection = await PipeConnection.ConnectAsync(name, options, stop.Token))
            {
                string reply = await connection.RequestAsync("hello from .NET Framework", stop.Token);
                Console.WriteLine(reply);
            }
            stop.Cancel();
            await serving;
        }

        // npipes' API: one message per connection, either side first.
        Task<string> receiving = Task.Run(() => new Ipc(name + "-ipc", options).ReceiveMessage(crc: true));
        new Ipc(name + "-ipc", options).SendMessage("one message", crc: true);
        Console.WriteLine(await receiving);
        return 0;
    }
}
