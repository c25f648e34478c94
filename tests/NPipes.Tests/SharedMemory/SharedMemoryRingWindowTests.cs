using System.Buffers.Binary;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using NPipes.Messaging.Writing;
using NPipes.Tests.Messaging;

namespace NPipes.Tests.SharedMemory;

/// <summary>
/// docs/shared-memory.md §8 Positions: a sender whose receiver keeps up goes back to the start of the ring once a slot
/// would end past the window (RingSender.Window, 8 MiB), instead of cycling through the whole ring; every payload still
/// arrives whole and in order.
/// </summary>
[SupportedOSPlatform("linux")] // skips elsewhere (ShmPeers.SocketPair)
[Collection(SharedMemoryCollection.Name)]
public sealed class SharedMemoryRingWindowTests
{
    private const int MiB = 1024 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_receiver_one_message_behind_keeps_the_sender_within_the_window(bool crc)
    {
        var shm = new SharedMemoryOptions { MaxInFlightBytes = 32 * MiB };
        await using ConnectionPair pair = ShmPeers.Pair(ShmPeers.Options(crc, limit: 2 * MiB, shm: shm));
        (PipeConnection sender, PipeConnection receiver) = pair;
        byte[] payload = RandomNumberGenerator.GetBytes(MiB);
        RingSender.AssumeSpareCore = true;
        try
        {
            // Send message i, then read message i - 1: every slot is placed with exactly one 1 MiB message unread.
            for (int i = 0; i < 20; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(payload, i);
                await sender.SendAsync(payload, Ct).AsTask().Within();
                if (i > 0)
                {
                    await ReceiveAsync(receiver, payload, i - 1);
                }
            }
            await ReceiveAsync(receiver, payload, 19);
        }
        finally
        {
            RingSender.AssumeSpareCore = false;
        }
        // Slots 0-7 fill the window of the first lap, 8-15 the second's, 16-19 start the third: without the early move
        // up the 20 slots would end at 20 MiB.
        Assert.Equal(2 * 32L * MiB + 4 * MiB, sender.SharedWriter!.Ring.End);
        Assert.Equal(1, ShmPeers.FilesCreated(sender)); // the ring only: no message fell back to a file of its own
    }

    private static async Task ReceiveAsync(PipeConnection receiver, byte[] payload, int sequence)
    {
        using PipeMessage message = (await receiver.ReceiveAsync(Ct).Within())!;
        Assert.Equal(sequence, BinaryPrimitives.ReadInt32LittleEndian(message.Payload.Span));
        Assert.True(payload.AsSpan(4).SequenceEqual(message.Payload.Span[4..]), $"message {sequence}: the payload differs");
    }
}
