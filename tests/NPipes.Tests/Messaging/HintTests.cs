namespace NPipes.Tests.Messaging;

/// <summary>
/// Every path names the likely cause of a mismatch (MismatchHint; the words of python/npipes/_hints.py): a request cut
/// off while it was sent (a frame over the server's limit), and a shared-memory descriptor frame read without shared
/// memory, whether the limit refuses its MessageLength alone or both lengths were read.
/// </summary>
public class HintTests
{
    private const string ServerCloses = "a server closes a connection whose frame it cannot read: " +
        "check that both sides use the same CRC setting, byte order, encoding and maximum message size";

    private const string SharedMemory = "The peer sends shared-memory frames (docs/shared-memory.md): turn shared memory on here too (NPipesOptions.SharedMemory, --shared-memory).";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_request_over_the_servers_limit_names_the_settings()
    {
        string name = TestPipes.NewName();
        var small = new PipeServerOptions { Connection = TestPipes.Options(FrameOptions.Default with { MaxPayloadLength = 1000 }), DrainTimeout = TimeSpan.Zero };
        var (server, running) = Servers.StartEcho(name, small);
        await using (server)
        {
            await using PipeConnection client = await PipeConnection.ConnectAsync(name, TestPipes.Options(), Ct);
            // More than a socket buffer holds: the server refuses the header and closes while the rest is being sent.
            byte[] big = new byte[4 * 1024 * 1024];
            IOException e = await Assert.ThrowsAnyAsync<IOException>(async () => (await client.RequestAsync(big, TestPipes.Patience, Ct)).Dispose());
            Assert.Contains(ServerCloses, e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("80000028", 4)]   // MessageLength alone: over the limit before DataLength is read
    [InlineData("80000028", 8)]   // both lengths
    [InlineData("28000080", 8)]   // little endian read as big
    public void A_descriptor_frame_read_without_shared_memory_says_so(string messageLength, int bytes)
    {
        byte[] header = Convert.FromHexString(messageLength + (messageLength == "80000028" ? "00000020" : "20000000"))[..bytes];
        FrameException e = Assert.ThrowsAny<FrameException>(() => FrameCodec.TryReadHeader(header, FrameOptions.Default, out _));
        Assert.EndsWith(SharedMemory, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("byte order", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_descriptor_frame_under_a_limit_it_fits_is_a_length_mismatch_with_the_hint()
    {
        var huge = FrameOptions.Default with { MaxPayloadLength = FrameOptions.FormatMaxPayloadLength };
        var e = Assert.Throws<FrameLengthMismatchException>(() => FrameCodec.TryReadHeader(Convert.FromHexString("8000002800000020"), huge, out _));
        Assert.EndsWith(SharedMemory, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_ordinary_bad_header_gets_no_shared_memory_hint()
    {
        var e = Assert.Throws<FrameLengthMismatchException>(() => FrameCodec.TryReadHeader(Convert.FromHexString("0000006400000005"), FrameOptions.Default, out _));
        Assert.DoesNotContain("shared", e.Message, StringComparison.Ordinal);
    }
}
