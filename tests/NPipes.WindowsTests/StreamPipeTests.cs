using System.IO.Pipes;
using static NPipes.WindowsTests.Pipes;

namespace NPipes.WindowsTests;

/// <summary>System.IO.Pipes behaviour on the Windows path that NPipes relies on, between two .NET ends.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("windows")]
public class StreamPipeTests
{
    /// <summary>A frame larger than 64 KiB travels as several pipe messages of at most 65536 bytes.</summary>
    [Theory]
    [InlineData(true, true)]   // server writes, client reads
    [InlineData(false, false)] // client writes, server reads
    public async Task FrameLargerThan64KiB_AcrossSeveralMessages(bool serverWrites, bool bigEndian)
    {
        Require.Windows();
        string name = NewName();
        byte[] data = Payload(200_000, seed: 7);
        byte[] frame = Frame.Encode(data, bigEndian, crc: true);
        int expectedMessages = (frame.Length + BufferSize - 1) / BufferSize; // 4

        using var server = Server(name);
        using var client = Client(name);
        Task connected = server.WaitForConnectionAsync(TestContext.Current.CancellationToken);
        ConnectMessageMode(client);
        await Within(connected);

        PipeStream writerEnd = serverWrites ? server : client;
        PipeStream readerEnd = serverWrites ? client : server;
        Task<int> writer = OnThread(() => WriteFrameInMessages(writerEnd, frame));
        var (got, messages) = await Within(OnThread(() => ReadFrameAcrossMessages(readerEnd, bigEndian)));

        Assert.Equal(expectedMessages, await Within(writer));
        Assert.Equal(expectedMessages, messages);
        Assert.Equal(data, Frame.Decode(got, bigEndian, crc: true));
    }

    [Fact]
    public async Task ConnectWithTimeout_ToMissingPipe_ThrowsTimeoutException()
    {
        await WineSafe.AsyncBody;
        Require.Windows();
        using var client = Client(NewName());
        Assert.Throws<TimeoutException>(() => client.Connect(200));
        Assert.False(client.IsConnected);
    }

    /// <summary>Beyond maxNumberOfServerInstances, creating another instance fails with 231 (all pipe instances are busy).</summary>
    [Fact]
    public async Task SecondInstanceBeyondMax_FailsWithError231()
    {
        await WineSafe.AsyncBody;
        Require.Windows();
        string name = NewName();
        using var first = Server(name, maxInstances: 1);
        var ex = Assert.Throws<IOException>(() => { using var second = Server(name, maxInstances: 1); });
        Assert.Equal(unchecked((int)0x800700E7), ex.HResult);
    }

    /// <summary>
    /// PipeOptions.FirstPipeInstance must refuse a name that already has an instance (UnauthorizedAccessException).
    /// Wine 8 does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE, so this test skips there with the reason.
    /// </summary>
    [Fact]
    public async Task FirstPipeInstance_RefusesAnExistingName()
    {
        await WineSafe.AsyncBody;
        Require.Windows();
        Assert.SkipWhen(WineDetect.IsWine,
            $"{WineDetect.Version} does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE (PipeOptions.FirstPipeInstance): " +
            "a second instance is simply created. Runs on real Windows.");
        string name = NewName();
        using var first = Server(name, maxInstances: 2);
        Assert.Throws<UnauthorizedAccessException>(() =>
        {
            using var second = Server(name, maxInstances: 2, options: PipeOptions.FirstPipeInstance);
        });
    }

    /// <summary>
    /// Pins down the Wine quirk behind the skip above, so the lane notices when a Wine version starts
    /// enforcing the flag (then the skip can go). Skips on real Windows.
    /// </summary>
    [Fact]
    public async Task Wine_DoesNotEnforceFirstPipeInstance()
    {
        await WineSafe.AsyncBody;
        Require.Windows();
        Assert.SkipUnless(WineDetect.IsWine, "documents a Wine quirk; not applicable on real Windows");
        string name = NewName();
        using var first = Server(name, maxInstances: 2);
        using var second = Server(name, maxInstances: 2, options: PipeOptions.FirstPipeInstance);
        Assert.True(second.SafePipeHandle is { IsInvalid: false });
    }
}
