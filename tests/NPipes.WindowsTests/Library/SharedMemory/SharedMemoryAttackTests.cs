using System.Runtime.Versioning;
using static NPipes.WindowsTests.Library.SharedMemory.SectionPeer;
using static NPipes.WindowsTests.Pipes;

namespace NPipes.WindowsTests.Library.SharedMemory;

/// <summary>
/// A raw peer breaks the rules of §9 (docs/shared-memory.md) frame by frame: each frame is refused with a
/// SharedMemoryException naming the step, and the connection closes. The test process is both ends: the library takes
/// the handle values announced here out of this same process.
/// </summary>
[SupportedOSPlatform("windows")]
public class SharedMemoryAttackTests
{
    private static readonly NPipesOptions Options = SharedMemoryTests.Shm();
    private static readonly bool BigEndian = Options.Frame.ByteOrder == ByteOrder.BigEndian;
    private const long Size = Control + SharedMemoryTests.Ring;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal static byte[] Attach(long handle, long length = Size) => Descriptor(KindAttach, length, handle, BigEndian, crc: true);

    private static byte[] Slot(ReadOnlySpan<byte> payload, long position, uint flags = 0) =>
        Descriptor(KindRing, payload.Length, position, BigEndian, crc: true, Crc(payload), flags);

    /// <summary>
    /// The raw client writes <paramref name="frames"/> (one pipe message each); the library's receive must take
    /// <paramref name="accepted"/> messages, then refuse the next frame saying <paramref name="says"/> and close.
    /// </summary>
    internal static async Task<SharedMemoryException> RefusedAsync(string says, int accepted, params byte[][] frames)
    {
        (PipeServer server, PipeConnection conn, var raw) = await RawClientAsync(Options);
        await using (server)
        await using (conn)
        using (raw)
        {
            foreach (byte[] frame in frames)
            {
                raw.Write(frame);
            }
            for (int i = 0; i < accepted; i++)
            {
                (await Within(conn.ReceiveAsync(Ct).AsTask()))!.Dispose();
            }
            var error = await Assert.ThrowsAsync<SharedMemoryException>(() => Within(conn.ReceiveAsync(Ct).AsTask()));
            Assert.Contains(says, error.Message, StringComparison.Ordinal);
            Assert.Equal(DisconnectReason.ProtocolError, conn.DisconnectReason);
            return error;
        }
    }

    /// <summary>A kind-3 frame naming <paramref name="handle"/> (closed afterwards) is refused at <paramref name="says"/>.</summary>
    internal static async Task RefusedAttachAsync(string says, nint handle, long length = Size)
    {
        try
        {
            await RefusedAsync(says, 0, Attach(handle, length));
        }
        finally
        {
            Close(handle);
        }
    }

    [Fact]
    public async Task A_slot_before_the_ring_attaches_is_refused()
    {
        Require.Windows();
        await RefusedAsync("no ring has been set up", 0, Slot(Payload(2000), 0));
    }

    [Fact]
    public async Task A_second_ring_is_refused()
    {
        Require.Windows();
        nint first = Section(Size), second = Section(Size);
        nint view = Map(first, Size);
        try
        {
            byte[] payload = Payload(2000);
            WriteAt(view, Control, payload);
            await RefusedAsync("second shared-memory ring", 1, Attach(first), Slot(payload, 0), Attach(second));
        }
        finally
        {
            Unmap(view);
            Close(first);
            Close(second);
        }
    }

    [Fact]
    public async Task Kind_1_is_refused_on_Windows()
    {
        Require.Windows();
        await RefusedAsync("kind 1", 0, Descriptor(KindFile, 2000, 0, BigEndian, crc: true));
    }

    [Fact]
    public async Task A_slot_with_flags_bit_0_is_refused_on_Windows()
    {
        Require.Windows();
        await RefusedAsync("flags bit 0", 0, Slot(Payload(2000), 0, flags: 1));
    }

    [Fact]
    public async Task A_handle_value_that_names_nothing_is_refused_at_step_2()
    {
        Require.Windows();
        await RefusedAsync("(step 2): duplicating handle", 0, Attach(0x00FF_FFF0)); // no process has that many handles open
        await RefusedAsync("(step 2, taking it from the peer)", 0, Attach(0));
        await RefusedAsync("(step 2, taking it from the peer)", 0, Attach(1L << 40));
    }

    [Fact]
    public async Task An_event_is_refused_at_step_3()
    {
        Require.Windows();
        await RefusedAttachAsync("(step 3, querying the section)", Event());
    }

    [Fact]
    public async Task A_reserved_section_is_refused_at_step_3()
    {
        Require.Windows();
        await RefusedAttachAsync("(step 3, the section's kind)", Section(Size, SecReserve));
    }

    [Fact]
    public async Task A_file_backed_section_is_refused_at_step_3()
    {
        Require.Windows();
        string path = Path.Combine(Path.GetTempPath(), "npipes-section-" + Guid.NewGuid().ToString("N"));
        try
        {
            await RefusedAttachAsync("(step 3, the section's kind)", FileSection(path, Size));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_section_of_another_size_is_refused_at_step_3()
    {
        Require.Windows();
        await RefusedAttachAsync($"it is {Size + 4096} bytes, not the {Size} announced", Section(Size + 4096));
    }

    [Theory]
    [InlineData(Control + 5000L)]                 // capacity not a multiple of 4096
    [InlineData(Control)]                         // capacity 0
    [InlineData(100L)]                            // smaller than the control page
    [InlineData(Control + (1L << 30) + 4096)]     // over 1 GiB
    public async Task A_ring_of_the_wrong_size_is_refused_at_step_1(long length)
    {
        Require.Windows();
        await RefusedAttachAsync($"ring of {length} bytes (step 1, its size)", Section(Size), length);
    }

    [Fact]
    public async Task A_slot_scribbled_after_it_was_sent_is_caught_by_the_CRC_and_a_returned_message_is_unchanged()
    {
        Require.Windows();
        nint section = Section(Size);
        nint view = Map(section, Size);
        try
        {
            byte[] first = Payload(3000, 1), second = Payload(3000, 2);
            WriteAt(view, Control, first);
            WriteAt(view, Control + first.Length, second);
            (PipeServer server, PipeConnection conn, var raw) = await RawClientAsync(Options);
            await using (server)
            await using (conn)
            using (raw)
            {
                raw.Write(Attach(section));
                raw.Write(Slot(first, 0));
                using PipeMessage? got = await Within(conn.ReceiveAsync(Ct).AsTask());
                WriteAt(view, Control, new byte[first.Length]); // the sender scribbles on a slot already read: the message is a copy
                Assert.Equal(first, got!.ToArray());
                raw.Write(Slot(second, first.Length));
                Flip(view, Control + first.Length);             // and on one sent but not read yet: the CRC catches it
                var error = await Assert.ThrowsAsync<SharedMemoryException>(() => Within(conn.ReceiveAsync(Ct).AsTask()));
                Assert.IsType<CrcMismatchException>(error.InnerException);
                Assert.Equal(first, got.ToArray());
            }
        }
        finally
        {
            Unmap(view);
            Close(section);
        }
    }

    [Fact]
    public async Task A_receiver_that_corrupts_consumed_closes_the_senders_connection()
    {
        Require.Windows();
        (PipeServer server, PipeConnection conn, var raw) = await RawClientAsync(Options);
        await using (server)
        await using (conn)
        using (raw)
        {
            await Within(conn.SendAsync(Payload(4000), Ct).AsTask());
            var attach = Read(ReadMessage(raw), BigEndian);
            var slot = Read(ReadMessage(raw), BigEndian);
            Assert.Equal((KindAttach, KindRing), (attach.Kind, slot.Kind));
            nint section = Duplicate(attach.Position);
            nint control = Map(section, Control);
            try
            {
                StoreConsumed(control, (ulong)(slot.Position + slot.Length + 1)); // past what was sent
                var error = await Assert.ThrowsAsync<SharedMemoryException>(() => Within(conn.SendAsync(Payload(4000), Ct).AsTask()));
                Assert.Contains("consumed position", error.Message, StringComparison.Ordinal);
                Assert.False(conn.IsConnected);
            }
            finally
            {
                Unmap(control);
                Close(section);
            }
        }
    }
}
