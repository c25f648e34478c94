namespace NPipes.Tests.Codec;

/// <summary>A frame read in the wrong byte order says so (MismatchHint, one rule for every path); other bad headers do not.</summary>
public class MismatchHintTests
{
    private static readonly FrameOptions Big = FrameOptions.Default;
    private static readonly FrameOptions Little = FrameOptions.Default with { ByteOrder = ByteOrder.LittleEndian };

    [Fact]
    public void A_little_endian_frame_read_as_big_endian_asks_about_the_byte_order()
    {
        byte[] frame = FrameCodec.EncodeText("hello", Little);
        FrameTooLargeException e = Assert.Throws<FrameTooLargeException>(() => FrameCodec.TryReadHeader(frame, Big, out _));
        Assert.Equal(218103800, e.DeclaredLength);
        Assert.EndsWith("Does the peer use another byte order?", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_that_makes_no_sense_either_way_gets_no_byte_order_hint()
    {
        byte[] garbage = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        FrameTooLargeException e = Assert.Throws<FrameTooLargeException>(() => FrameCodec.TryReadHeader(garbage, Big, out _));
        Assert.DoesNotContain("byte order", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ipc_receiving_a_frame_in_the_other_byte_order_asks_about_the_byte_order()
    {
        string name = TestPipes.NewName();
        var littleOptions = TestPipes.Options(Little);
        Task<string> receiving = new Ipc(name, TestPipes.Options()).ReceiveMessageAsync(false, TestContext.Current.CancellationToken);
        Task sending = new Ipc(name, littleOptions).SendMessageAsync("hello", false, TestContext.Current.CancellationToken);
        FrameTooLargeException e = await Assert.ThrowsAsync<FrameTooLargeException>(() => receiving.WaitAsync(TestPipes.Patience, TestContext.Current.CancellationToken));
        Assert.EndsWith("Does the peer use another byte order?", e.Message, StringComparison.Ordinal);
        try
        {
            await sending.WaitAsync(TestPipes.Patience, TestContext.Current.CancellationToken);
        }
        catch (Exception)
        {
            // What the sender is told of the refusal is not this test's matter: only that it ends.
        }
    }
}
