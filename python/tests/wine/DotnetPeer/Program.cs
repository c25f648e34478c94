// The .NET roles of the python-windows lane, one per run: `DotnetPeer.exe ROLE ARGS... [--shared-memory]`.
// --shared-memory (anywhere after ROLE; every role but `cli`, which passes it on to the CLI as its own switch) turns on
// NPipesOptions.SharedMemory with the defaults (docs/shared-memory.md §9: the ring in a section on Windows); without it
// nothing changes.
// Text to send comes on standard input (one line); results go to standard output, one line each, so the Python
// test can wait for "created"/"ready" before starting its own side (no sleeps).
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using System.Text;
using NPipes;
using NPipes.Cli;
using NPipes.WindowsTests;

[assembly: SupportedOSPlatform("windows")]

using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
CancellationToken ct = cts.Token;
string role = args[0];
bool sharedMemory = role != "cli" && args.Contains("--shared-memory");
if (sharedMemory)
{
    args = [.. args.Where(a => a != "--shared-memory")];
}
static void Say(string line) { Console.Out.WriteLine(line); Console.Out.Flush(); }
NPipesOptions Options(string order, string crc) => new()
{
    Timeout = TimeSpan.FromSeconds(20),
    SharedMemory = sharedMemory ? SharedMemoryOptions.Default : null,
    Frame = new FrameOptions
    {
        ByteOrder = order == "big" ? ByteOrder.BigEndian : ByteOrder.LittleEndian,
        Crc = crc == "1",
        MaxPayloadLength = 8 << 20,
    },
};

switch (role)
{
    case "peer-send":        // NAME big|little 0|1  (text on stdin): npipes 1.0.1's send
    {
        byte[] frame = Frame.Encode(Encoding.ASCII.GetBytes(Console.In.ReadLine() ?? ""), args[2] == "big", args[3] == "1");
        int n = NpipesPeer.Send(args[1], frame, onCreated: () => Say("created"));
        Say($"sent {n}");
        return 0;
    }
    case "peer-receive":     // NAME: npipes 1.0.1's receive (one ReadFile of at most 65536 bytes)
    {
        PeerReceipt got = NpipesPeer.Receive(args[1], onReady: created => Say(created ? "ready created" : "ready client"));
        Say($"got {got.ReadError} {got.CreatedPipe} {Convert.ToBase64String(got.Data)}");
        return 0;
    }
    case "ipc-send":         // NAME big|little 0|1 (text on stdin)
        Say("started");
        await new Ipc(args[1], Options(args[2], "0")).SendMessageAsync(Console.In.ReadLine() ?? "", args[3] == "1", ct);
        Say("sent");
        return 0;
    case "ipc-receive":      // NAME big|little 0|1
        Say("started");
        Say("text " + await new Ipc(args[1], Options(args[2], "0")).ReceiveMessageAsync(args[3] == "1", ct));
        return 0;
    case "client":           // NAME big|little 0|1 COUNT: requests to an echo server, each checked
    {
        Say($"pid {Environment.ProcessId}");
        await using PipeConnection conn = await PipeConnection.ConnectAsync(args[1], Options(args[2], args[3]), ct);
        for (int i = 0; i < int.Parse(args[4]); i++)
        {
            string text = $"dotnet {i} " + new string('x', i == 0 ? 200_000 : i);
            string back = await conn.RequestAsync(text, ct);
            if (back != text) { Say($"mismatch at {i}: {back.Length} chars back"); return 1; }
        }
        Say("ok");
        return 0;
    }
    case "server":           // NAME big|little 0|1 COUNT: an echo PipeServer that serves COUNT connections, then ends
    {
        await using PipeServer server = PipeServer.Listen(args[1], new PipeServerOptions { Connection = Options(args[2], args[3]) });
        // The first accept is under way (its ConnectNamedPipe issued) before "listening" is said.
        ValueTask<PipeConnection> first = server.AcceptAsync(ct);
        Say($"listening pid {Environment.ProcessId}");
        var served = new List<Task>();
        for (int c = 0; c < int.Parse(args[4]); c++)
        {
            PipeConnection conn = c == 0 ? await first : await server.AcceptAsync(ct);
            served.Add(Task.Run(async () =>
            {
                await using (conn)
                    while (await conn.ReceiveAsync(ct) is { } message)
                        using (message)
                            await conn.SendAsync(message.Payload, ct);
            }, ct));
        }
        await Task.WhenAll(served);
        Say("served");
        return 0;
    }
    case "accept-after-go":  // NAME: Listen, say "listening", accept only once "go" comes on stdin
    {
        await using PipeServer server = PipeServer.Listen(args[1], sharedMemory ? new PipeServerOptions { Connection = new NPipesOptions { SharedMemory = SharedMemoryOptions.Default } } : null);
        Say("listening");
        Console.In.ReadLine();
        try
        {
            await using PipeConnection conn = await server.AcceptAsync(ct);
            Say("accepted");
        }
        catch (Exception e)
        {
            Say($"accept failed {e.GetType().Name}: {e.Message}");
        }
        return 0;
    }
    case "cli":              // ARGS...: the npipes CLI in-process (e.g. cli echo NAME --crc)
        return await CliApp.RunAsync(args[1..], ct);
    default:
        Say($"unknown role {role}");
        return 2;
}

namespace NPipes.WindowsTests
{
    /// <summary>NpipesPeer's step log: a no-op here (the lane's runner has its own timeouts).</summary>
    internal static class HangTrace
    {
        public static void Step(string what, [CallerMemberName] string? caller = null) { _ = what; _ = caller; }
    }

    /// <summary>The one member of the WindowsTests' Pipes helper that NpipesPeer.cs uses.</summary>
    internal static class Pipes
    {
        public static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);
    }
}
