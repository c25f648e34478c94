using System.Text;
using System.Text.Json.Nodes;

namespace NPipes.RpcTests;

/// <summary>
/// The wire protocol of docs/rpc.md, checked byte-level against the .NET server: a hand-written client sends JSON
/// payloads in plain npipes frames and reads what comes back. What these tests pin is what a peer in another language
/// (the Python package) must produce and can expect.
/// </summary>
public class ProtocolTests
{
    private static async Task SendAsync(PipeConnection connection, string json) =>
        await connection.SendAsync(Encoding.UTF8.GetBytes(json), Rpc.Ct);

    private static async Task<JsonObject> ReceiveAsync(PipeConnection connection)
    {
        using PipeMessage? message = await connection.ReceiveAsync(Rpc.Ct).AsTask().Bounded();
        Assert.NotNull(message);
        Assert.NotEqual(0xEF, message.Payload.Span[0]); // no byte order mark
        return Assert.IsType<JsonObject>(JsonNode.Parse(message.Payload.Span));
    }

    private static async Task<(RunningServer Server, PipeConnection Client)> StartAsync(TestTarget? target = null)
    {
        target ??= new TestTarget();
        RunningServer server = Rpc.Serve((rpc, _) => rpc.AddLocalRpcTarget(target));
        return (server, await PipeConnection.ConnectAsync(server.Name, Rpc.Options(), Rpc.Ct));
    }

    [Fact]
    public async Task Requests_with_positional_or_named_params_and_number_or_string_ids_get_matching_responses()
    {
        var (server, client) = await StartAsync();
        await using (server)
        await using (client)
        {
            await SendAsync(client, """{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}""");
            JsonObject reply = await ReceiveAsync(client);
            Assert.Equal("2.0", (string?)reply["jsonrpc"]);
            Assert.Equal(1, (int?)reply["id"]);
            Assert.Equal(3.0, (double?)reply["result"]);
            Assert.Null(reply["error"]);

            await SendAsync(client, """{"jsonrpc":"2.0","id":"abc","method":"echo","params":{"text":"héllo ☃"}}""");
            reply = await ReceiveAsync(client);
            Assert.Equal("abc", (string?)reply["id"]);
            Assert.Equal("héllo ☃", (string?)reply["result"]);
        }
    }

    [Fact]
    public async Task Cancel_request_with_named_id_cancels_the_call_which_answers_minus_32800()
    {
        var target = new TestTarget();
        var (server, client) = await StartAsync(target);
        await using (server)
        await using (client)
        {
            await SendAsync(client, """{"jsonrpc":"2.0","id":7,"method":"sleep","params":[600000]}""");
            await target.SleepStarted.Task.Bounded();
            await SendAsync(client, """{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":7}}""");
            await target.SleepCancelled.Task.Bounded();
            JsonObject reply = await ReceiveAsync(client);
            Assert.Equal(7, (int?)reply["id"]);
            Assert.Equal(-32800, (int?)reply["error"]!["code"]);
        }
    }

    [Fact]
    public async Task Progress_is_a_progress_notification_with_the_token_and_value_before_the_result()
    {
        var (server, client) = await StartAsync();
        await using (server)
        await using (client)
        {
            await SendAsync(client, """{"jsonrpc":"2.0","id":5,"method":"count","params":[2,77]}""");
            for (int i = 1; i <= 2; i++)
            {
                JsonObject note = await ReceiveAsync(client);
                Assert.Equal("$/progress", (string?)note["method"]);
                Assert.Null(note["id"]);
                JsonArray args = Assert.IsType<JsonArray>(note["params"]);
                Assert.Equal(77, (int?)args[0]);
                Assert.Equal(i, (int?)args[1]);
            }
            JsonObject reply = await ReceiveAsync(client);
            Assert.Equal(5, (int?)reply["id"]);
            Assert.Equal(2, (int?)reply["result"]);
        }
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"no_such_method","params":[]}""", -32601)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"add","params":["x",2]}""", -32602)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"add","params":[1]}""", -32602)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"fail","params":[-32001,"app error"]}""", -32001)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"fail","params":[42,"app error"]}""", 42)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"crash","params":["boom"]}""", -32000)]
    public async Task Errors_have_the_documented_codes(string request, int code)
    {
        var (server, client) = await StartAsync();
        await using (server)
        await using (client)
        {
            await SendAsync(client, request);
            JsonObject reply = await ReceiveAsync(client);
            Assert.Equal(1, (int?)reply["id"]);
            Assert.Null(reply["result"]);
            JsonObject error = Assert.IsType<JsonObject>(reply["error"]);
            Assert.Equal(code, (int?)error["code"]);
            Assert.False(string.IsNullOrEmpty((string?)error["message"]));
        }
    }

    [Fact]
    public async Task A_notification_gets_no_reply_even_for_an_unknown_method()
    {
        var target = new TestTarget();
        var (server, client) = await StartAsync(target);
        await using (server)
        await using (client)
        {
            await SendAsync(client, """{"jsonrpc":"2.0","method":"no_such_method","params":[]}""");
            await SendAsync(client, """{"jsonrpc":"2.0","method":"note","params":["n"]}""");
            await SendAsync(client, """{"jsonrpc":"2.0","id":2,"method":"echo","params":["after"]}""");
            JsonObject reply = await ReceiveAsync(client); // the first frame back answers the request: nothing for the notifications
            Assert.Equal(2, (int?)reply["id"]);
            Assert.True(target.Notes.TryTake(out string? note, Rpc.Patience));
            Assert.Equal("n", note);
        }
    }

    [Fact]
    public void The_documented_example_frame_is_what_the_codec_writes()
    {
        byte[] payload = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}""");
        byte[] frame = new byte[FrameCodec.Overhead + payload.Length];
        FrameCodec.Write(frame, payload, new FrameOptions { Crc = true });
        Assert.Equal(
            "0000003e00000036" + "7b226a736f6e727063223a22322e30222c226964223a312c226d6574686f64223a22616464222c22706172616d73223a5b312c325d7d" + "bdee685c",
            Convert.ToHexStringLower(frame));
    }

    [Fact]
    public async Task A_cancel_request_for_an_unknown_id_is_ignored()
    {
        var (server, client) = await StartAsync();
        await using (server)
        await using (client)
        {
            await SendAsync(client, """{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":999}}""");
            await SendAsync(client, """{"jsonrpc":"2.0","id":"s1","method":"echo","params":["fine"]}""");
            JsonObject reply = await ReceiveAsync(client);
            Assert.Equal("s1", (string?)reply["id"]);
            Assert.Equal("fine", (string?)reply["result"]);
        }
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("\uFEFF{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[\"bom\"]}")]
    [InlineData("""{"jsonrpc":"2.0","id":1.5,"method":"echo","params":["x"]}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"echo","params":"x"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1}""")]
    [InlineData("[1,2]")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"echo","params":["batch"]}]""")]
    public async Task A_payload_that_is_not_one_json_object_closes_the_connection_and_is_reported(string payload)
    {
        var (server, client) = await StartAsync();
        await using (server)
        await using (client)
        {
            await SendAsync(client, payload);
            using PipeMessage? reply = await client.ReceiveAsync(Rpc.Ct).AsTask().Bounded();
            Assert.Null(reply); // the server closed the connection without answering
            await Until.TrueAsync(() => server.Errors.Length > 0, "the server to report the bad message");
        }
    }
}

/// <summary>Waiting, bounded, for a condition another task brings about.</summary>
internal static class Until
{
    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Rpc.Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for " + what);
            await Task.Delay(5, Rpc.Ct);
        }
    }
}
