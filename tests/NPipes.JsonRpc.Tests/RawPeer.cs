using System.IO.Pipes;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NPipes.RpcTests;

/// <summary>
/// A hand-driven peer on a plain .NET pipe stream (the raw transport NPipes' Unix path is compatible with): it reads
/// frames with <see cref="FrameCodec"/> and can write anything, valid or broken, to test the other side's errors.
/// </summary>
internal sealed class RawPeer : IAsyncDisposable
{
    private readonly NamedPipeServerStream _stream;
    private readonly FrameOptions _frame;

    private RawPeer(NamedPipeServerStream stream, FrameOptions frame)
    {
        _stream = stream;
        _frame = frame;
    }

    /// <summary>Listens on <paramref name="name"/>; <see cref="AcceptAsync"/> waits for the client.</summary>
    public static RawPeer Listen(string name, FrameOptions frame) =>
        new(new NamedPipeServerStream(name, PipeDirection.InOut, 1, PipeTransmissionMode.Byte, PipeOptions.Asynchronous | PipeOptions.CurrentUserOnly), frame);

    public Task AcceptAsync() => _stream.WaitForConnectionAsync(Rpc.Ct).WaitAsync(Rpc.Patience, Rpc.Ct);

    /// <summary>Reads one whole frame (validated by <see cref="FrameCodec"/>) and parses its payload as a JSON object.</summary>
    public async Task<JsonObject> ReadMessageAsync()
    {
        byte[] header = new byte[FrameCodec.HeaderLength];
        await _stream.ReadExactlyAsync(header, Rpc.Ct).AsTask().WaitAsync(Rpc.Patience, Rpc.Ct);
        Assert.True(FrameCodec.TryReadHeader(header, _frame, out FrameHeader parsed));
        byte[] frame = new byte[parsed.FrameLength];
        header.CopyTo(frame, 0);
        await _stream.ReadExactlyAsync(frame.AsMemory(FrameCodec.HeaderLength), Rpc.Ct).AsTask().WaitAsync(Rpc.Patience, Rpc.Ct);
        string text = FrameCodec.DecodeText(frame, _frame with { Encoding = TextEncodings.Utf8 });
        return Assert.IsType<JsonObject>(JsonNode.Parse(text));
    }

    /// <summary>Encodes <paramref name="json"/> as one frame; <paramref name="corrupt"/> alters it before it is written.</summary>
    public async Task WriteFrameAsync(string json, Action<byte[]>? corrupt = null)
    {
        byte[] payload = Encoding.UTF8.GetBytes(json);
        byte[] frame = new byte[FrameCodec.Overhead + payload.Length];
        FrameCodec.Write(frame, payload, _frame);
        corrupt?.Invoke(frame);
        await WriteBytesAsync(frame);
    }

    public async Task WriteBytesAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes, Rpc.Ct);
        await _stream.FlushAsync(Rpc.Ct);
    }

    /// <summary>A JSON-RPC result for <paramref name="request"/>.</summary>
    public static string ResultFor(JsonObject request, JsonNode? result) =>
        new JsonObject { ["jsonrpc"] = "2.0", ["id"] = request["id"]!.DeepClone(), ["result"] = result }.ToJsonString();

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}
