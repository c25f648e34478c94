using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>
/// The large frame: 24 MiB, above the default 16 MiB limit (so both sides raise it), with CRC. Byte i is
/// (i + i / 65536) mod 256, as in big_peer.py: a 64 KiB block out of place or lost changes the bytes, not only the CRC.
/// </summary>
internal static class BigFrame
{
    public const int Size = 24 * 1024 * 1024;

    public static readonly NPipesOptions Options = new()
    {
        Timeout = TimeSpan.FromSeconds(30),
        Frame = new FrameOptions { Crc = true, MaxPayloadLength = 32 * 1024 * 1024 },
    };

    public static byte[] Payload(int size)
    {
        byte[] payload = new byte[size];
        for (int i = 0; i < size; i++)
        {
            payload[i] = unchecked((byte)(i + (i >> 16)));
        }
        return payload;
    }

    /// <summary>Where <paramref name="actual"/> first differs from the payload, or null when it is the payload.</summary>
    public static string? Difference(ReadOnlySpan<byte> actual, int size)
    {
        if (actual.Length != size)
        {
            return $"{actual.Length} bytes instead of {size}";
        }
        for (int i = 0; i < size; i++)
        {
            if (actual[i] != unchecked((byte)(i + (i >> 16))))
            {
                return $"byte {i} is {actual[i]}";
            }
        }
        return null;
    }
}

/// <summary>
/// `peer serve NAME SIZE`: serves one connection, checks the one request is the payload and sends it back.
/// `peer request NAME SIZE`: sends the payload as a request and checks the reply is the payload.
/// Prints "ok" and exits 0, or prints what differed and exits 1. big_peer.py does the same in Python.
/// </summary>
internal static class BigFramePeer
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length != 4 || !int.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out int size))
        {
            Console.Error.WriteLine("usage: peer serve|request NAME SIZE");
            return 2;
        }
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? difference = args[1] switch
        {
            "serve" => await ServeAsync(args[2], size, stop.Token).ConfigureAwait(false),
            "request" => await RequestAsync(args[2], size, stop.Token).ConfigureAwait(false),
            _ => "unknown role " + args[1],
        };
        Console.WriteLine(difference ?? "ok");
        return difference is null ? 0 : 1;
    }

    private static async Task<string?> ServeAsync(string name, int size, CancellationToken ct)
    {
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = BigFrame.Options });
        await using PipeConnection connection = await server.AcceptAsync(ct).ConfigureAwait(false);
        using PipeMessage? request = await connection.ReceiveAsync(ct).ConfigureAwait(false);
        if (request is null)
        {
            return "the client closed before sending";
        }
        if (BigFrame.Difference(request.Payload.Span, size) is string difference)
        {
            return "request: " + difference;
        }
        await connection.SendAsync(request.Payload, ct).ConfigureAwait(false);
        // The client closes once it has the reply: wait for that, so the reply is not cut off by our own close.
        using PipeMessage? after = await connection.ReceiveAsync(ct).ConfigureAwait(false);
        return after is null ? null : "a second request arrived";
    }

    private static async Task<string?> RequestAsync(string name, int size, CancellationToken ct)
    {
        await using PipeConnection connection = await PipeConnection.ConnectAsync(name, BigFrame.Options, ct).ConfigureAwait(false);
        using PipeMessage reply = await connection.RequestAsync(BigFrame.Payload(size), ct).ConfigureAwait(false);
        return BigFrame.Difference(reply.Payload.Span, size) is string difference ? "reply: " + difference : null;
    }
}
