using System.Buffers.Binary;
using System.Globalization;
using System.IO.Pipes;

namespace NPipes.Bench;

/// <summary>
/// The peer side of each figure, run in its own process. Every peer prints "ready" once it listens, serves until its
/// stdin is closed, then exits.
/// </summary>
internal static class PeerRoles
{
    private static readonly Dictionary<string, Func<string, Task>> s_added = [];

    /// <summary>Adds a peer role served by a project of its own (see <see cref="BenchRunner.AddFigure"/>): it gets the name and prints "ready" (<see cref="Ready"/>) once it serves.</summary>
    internal static void Add(string role, Func<string, Task> serve) => s_added[role] = serve;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("peer: role and pipe name required");
            return 2;
        }
        string role = args[0];
        string name = args[1];
        bool crc = args.Length > 2 && args[2] == "crc";
        Task serving = role switch
        {
            "pp-raw-async" => RawPingPongAsync(name, sync: false),
            "pp-raw-sync" => RawPingPongAsync(name, sync: true),
            "pp-np-async" => NPipesEchoAsync(name, crc),
            "pp-np-sync" => NPipesSyncEchoAsync(name, crc),
            "ow-raw" => RawSinkAsync(name),
            "ow-np" => NPipesSinkAsync(name, crc),
            "rpc-raw" => RpcPeers.RawAsync(name),
            "rpc-np" => RpcPeers.NPipesAsync(name, crc),
            _ when s_added.TryGetValue(role, out Func<string, Task>? serve) => serve(name),
            _ => throw new ArgumentException($"unknown peer role '{role}'"),
        };
        // Serve until the runner closes our stdin (or serving fails).
        // Serve until the runner closes our stdin; meanwhile answer its "jit" line with how many methods this process has
        // compiled (the warm-up waits for both processes' JIT to go quiet).
        Task stop = Task.Run(AnswerUntilClosed);
        Task first = await Task.WhenAny(serving, stop);
        if (first == serving && serving.IsFaulted)
        {
            Console.Error.WriteLine($"peer {role}: {serving.Exception!.InnerException}");
            Console.Out.Flush();
            return 1;
        }
        await stop;
        Console.Out.Flush();
        return 0;
    }

    private static void AnswerUntilClosed()
    {
        while (Console.In.ReadLine() is { } line)
        {
            if (line == "jit")
            {
                Console.Out.WriteLine(System.Runtime.JitInfo.GetCompiledMethodCount().ToString(CultureInfo.InvariantCulture));
                Console.Out.Flush();
            }
        }
    }

    internal static void Ready()
    {
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
    }

    internal static NPipesOptions Options(bool crc) => new NPipesOptions { Timeout = TimeSpan.FromSeconds(30) }.WithCrc(crc);

    // ---- raw .NET pipes ----

    private static async Task RawPingPongAsync(string name, bool sync)
    {
        var server = new NamedPipeServerStream(name, PipeDirection.InOut, 1, PipeTransmissionMode.Byte, sync ? PipeOptions.None : PipeOptions.Asynchronous);
        Ready();
        if (sync)
        {
            server.WaitForConnection();
            await Task.Factory.StartNew(() => RawEchoSync(server), TaskCreationOptions.LongRunning);
        }
        else
        {
            await server.WaitForConnectionAsync();
            await RawEchoAsync(server);
        }
    }

    private static void RawEchoSync(NamedPipeServerStream server)
    {
        using (server)
        {
            byte[] buffer = new byte[BenchRunner.PingSize];
            try
            {
                while (server.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false) == buffer.Length)
                {
                    server.Write(buffer);
                }
            }
            catch (IOException)
            {
                // The client went away.
            }
        }
    }

    private static async Task RawEchoAsync(NamedPipeServerStream server)
    {
        await using (server)
        {
            byte[] buffer = new byte[BenchRunner.PingSize];
            try
            {
                while (await server.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false) == buffer.Length)
                {
                    await server.WriteAsync(buffer);
                }
            }
            catch (IOException)
            {
                // The client went away.
            }
        }
    }

    /// <summary>
    /// One-way sink on the raw stream. Per batch: reads the 8-byte message count and the 8-byte message size, then
    /// count × size bytes, and answers with an 8-byte acknowledgement carrying the number of bytes it received.
    /// </summary>
    private static async Task RawSinkAsync(string name)
    {
        await using var server = new NamedPipeServerStream(name, PipeDirection.InOut, 1, PipeTransmissionMode.Byte, PipeOptions.Asynchronous);
        Ready();
        await server.WaitForConnectionAsync();
        byte[] head = new byte[16];
        byte[] sink = new byte[1 << 20];
        while (await server.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false) == head.Length)
        {
            long count = BinaryPrimitives.ReadInt64LittleEndian(head);
            long size = BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(8));
            long expected = count * size;
            long received = 0;
            while (received < expected)
            {
                int n = await server.ReadAsync(sink.AsMemory(0, (int)Math.Min(sink.Length, expected - received)));
                if (n == 0)
                {
                    throw new EndOfStreamException($"raw sink: stream ended after {received} of {expected} bytes");
                }
                received += n;
            }
            BinaryPrimitives.WriteInt64LittleEndian(head, received);
            await server.WriteAsync(head.AsMemory(0, 8));
        }
    }

    // ---- NPipes ----

    private static async Task NPipesEchoAsync(string name, bool crc)
    {
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Options(crc), DrainTimeout = TimeSpan.Zero });
        Ready();
        // The reply aliases the request's pooled payload: ServeRequestsAsync sends it before recycling the buffer.
        await server.ServeRequestsAsync(static (request, _) => ValueTask.FromResult(request.Payload));
    }

    private static async Task NPipesSyncEchoAsync(string name, bool crc)
    {
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Options(crc), DrainTimeout = TimeSpan.Zero });
        Ready();
        while (true)
        {
            PipeConnection connection = await server.AcceptAsync();
            var thread = new Thread(() =>
            {
                using (connection)
                {
                    try
                    {
                        while (connection.Receive() is { } request)
                        {
                            using (request)
                            {
                                connection.Send(request.Payload);
                            }
                        }
                    }
                    catch (ConnectionClosedException)
                    {
                        // The client went away.
                    }
                }
            })
            { IsBackground = true, Name = "sync echo" };
            thread.Start();
        }
    }

    /// <summary>
    /// One-way sink on NPipes. Per batch: a 16-byte message (count, size), then count messages, each checked for its
    /// length and its sequence number (the first 4 bytes, little endian); the library checks each CRC. Answers with a
    /// 16-byte message: how many whole messages arrived, and the bytes this process allocated while receiving them.
    /// </summary>
    private static async Task NPipesSinkAsync(string name, bool crc)
    {
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = Options(crc), DrainTimeout = TimeSpan.Zero });
        Ready();
        await using PipeConnection connection = await server.AcceptAsync();
        var sink = new BenchSink();
        byte[] ack = new byte[16];
        while (true)
        {
            long count, size;
            using (PipeMessage? head = await connection.ReceiveAsync())
            {
                if (head is null)
                {
                    return;
                }
                count = BinaryPrimitives.ReadInt64LittleEndian(head.Payload.Span);
                size = BinaryPrimitives.ReadInt64LittleEndian(head.Payload.Span[8..]);
            }
            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            long received = await sink.ReceiveAsync(connection, count, (int)size);
            allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            BinaryPrimitives.WriteInt64LittleEndian(ack, received);
            BinaryPrimitives.WriteInt64LittleEndian(ack.AsSpan(8), allocated);
            await connection.SendAsync(ack);
            await BenchSink.FlushAsync(connection);
        }
    }

    internal static string Format(double value) => value.ToString(value >= 100 ? "F0" : "F2", CultureInfo.InvariantCulture);
}
