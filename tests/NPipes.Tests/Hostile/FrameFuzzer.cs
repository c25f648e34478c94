using System.Buffers;
using System.Buffers.Binary;
using NPipes.Messaging;
using NPipes.Tests.Codec;

namespace NPipes.Tests.Hostile;

/// <summary>What a fuzz run did and found. <see cref="Failures"/> is empty when every property held.</summary>
public sealed class FuzzReport
{
    public long ValidFrames;
    public long MutatedFrames;
    public long MutatedDecodedWhole;   // a mutated input that still decoded, entirely, to consistent frames
    public long MutatedIncomplete;     // a mutated input that ended mid-frame (codec: false; reader: IncompleteFrameException)
    public long MutatedRejected;       // a mutated input refused with a FrameException
    public long Bytes;
    public long MaxAllocatedPerInput;  // the most any one input made the decoders allocate (bytes, this thread)
    public readonly Dictionary<string, long> Rejections = [];
    public readonly List<string> Failures = [];

    public long Frames => ValidFrames + MutatedFrames;

    public override string ToString() =>
        $"{Frames:N0} frames ({ValidFrames:N0} valid, {MutatedFrames:N0} mutated: {MutatedRejected:N0} rejected, " +
        $"{MutatedIncomplete:N0} incomplete, {MutatedDecodedWhole:N0} still consistent), {Bytes:N0} bytes, " +
        $"max {MaxAllocatedPerInput:N0} bytes allocated per input; rejections: " +
        string.Join(", ", Rejections.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value:N0}")) +
        (Failures.Count == 0 ? "" : $"; {Failures.Count} FAILURES, first: {Failures[0]}");
}

/// <summary>
/// Property-based fuzzing of the decoder with a seeded generator. Valid frames (random byte order, CRC on or off,
/// 0 to max bytes) must decode to the same payload through <see cref="SequenceFrames.TryDecode"/> over randomly split
/// sequences and through the connection's <see cref="FrameReader"/> over a stream that returns random short reads
/// (sync and async paths). Mutated frames (bit flips, hostile length fields, cuts, insertions, extra bytes) must give
/// the same outcome through all three: consistent frames, a clean "incomplete", or the same <see cref="FrameException"/>
/// type, never another exception; and the decoders must never allocate more than the payload limit plus their buffer.
/// </summary>
public static class FrameFuzzer
{
    /// <summary>The reader's pooled read buffer, plus room for exception objects and their messages.</summary>
    public const long AllocationSlack = 64 * 1024 + 32 * 1024;

    /// <summary>
    /// Per read call: a Debug build makes every async state machine a class, so each (synchronously completing) read
    /// allocates one small object. It scales with the reads made, never with the length a frame claims; Release: 0.
    /// </summary>
    public const long AllocationPerRead = 256;

    public static FuzzReport Run(int seed, int iterations, long maxPayload = 64 * 1024, int maxFailures = 20)
    {
        var rng = new Random(seed);
        var report = new FuzzReport();
        for (int i = 0; i < iterations && report.Failures.Count < maxFailures; i++)
        {
            var options = FrameOptions.Default with
            {
                ByteOrder = rng.Next(2) == 0 ? ByteOrder.BigEndian : ByteOrder.LittleEndian,
                Crc = rng.Next(4) != 0,
                MaxPayloadLength = maxPayload,
            };
            byte[] frame = Encode(RandomPayload(rng, maxPayload), options);
            CheckValid(rng, frame, options, report, i);
            byte[] mutated = Mutate(rng, frame, options);
            CheckMutated(rng, mutated, options, report, i);
        }
        return report;
    }

    private static byte[] RandomPayload(Random rng, long max)
    {
        int roll = rng.Next(100);
        int length = roll switch
        {
            < 10 => 0,
            < 70 => rng.Next(1, 65),
            < 98 => rng.Next(65, 1025),
            _ => (int)rng.NextInt64(1025, max + 1),
        };
        byte[] payload = new byte[Math.Min(length, (int)max)];
        rng.NextBytes(payload);
        return payload;
    }

    private static byte[] Encode(byte[] payload, FrameOptions options)
    {
        byte[] frame = new byte[FrameCodec.Overhead + payload.Length];
        FrameCodec.Write(frame, payload, options);
        return frame;
    }

    private static void CheckValid(Random rng, byte[] frame, FrameOptions options, FuzzReport report, int i)
    {
        report.ValidFrames++;
        report.Bytes += frame.Length;
        byte[] payload = frame.AsSpan(FrameCodec.HeaderLength, frame.Length - FrameCodec.Overhead).ToArray();
        try
        {
            // Whole frame, split at random points: decodes to the payload and consumes exactly the frame.
            ReadOnlySequence<byte> sequence = Split(rng, frame);
            if (!SequenceFrames.TryDecode(ref sequence, options, out ReadOnlySequence<byte> decoded) || !sequence.IsEmpty || !decoded.ToArray().AsSpan().SequenceEqual(payload))
            {
                report.Failures.Add($"#{i}: a valid frame of {frame.Length} bytes did not decode to its payload");
                return;
            }
            // Any strict prefix: "not yet", without throwing and without consuming.
            int cut = rng.Next(frame.Length);
            ReadOnlySequence<byte> prefix = Split(rng, frame.AsSpan(0, cut).ToArray());
            if (SequenceFrames.TryDecode(ref prefix, options, out _) || prefix.Length != cut)
            {
                report.Failures.Add($"#{i}: a {cut}-byte prefix of a valid frame decoded or was consumed");
                return;
            }
            // The reader, over short reads, twice in a row (the second frame tests the carried-over buffer).
            var streamed = ReadAll(rng, [.. frame, .. frame], options, out Exception? error, out _);
            if (error is not null || streamed.Count != 2 || !streamed.TrueForAll(p => p.AsSpan().SequenceEqual(payload)))
            {
                report.Failures.Add($"#{i}: the reader did not return a valid frame twice ({error?.GetType().Name ?? streamed.Count + " frames"})");
            }
        }
        catch (Exception e)
        {
            report.Failures.Add($"#{i}: a valid frame threw {e.GetType().Name}: {e.Message}");
        }
    }

    private static void CheckMutated(Random rng, byte[] input, FrameOptions options, FuzzReport report, int i)
    {
        report.MutatedFrames++;
        report.Bytes += input.Length;

        // The reference: the codec over the contiguous bytes, frame after frame.
        List<(int Offset, int Length)> expected = [];
        Exception? expectedError = null;
        ReadOnlySequence<byte> whole = new(input);
        try
        {
            while (!whole.IsEmpty && SequenceFrames.TryDecode(ref whole, options, out ReadOnlySequence<byte> p))
            {
                int offset = (int)p.Start.GetInteger();
                if (p.Length > options.MaxPayloadLength || (options.Crc && SequenceFrames.ComputeCrc(p) != FrameCodec.ReadUInt32(input.AsSpan(offset + (int)p.Length), options.ByteOrder)))
                {
                    report.Failures.Add($"#{i}: the codec accepted an inconsistent frame");
                    return;
                }
                expected.Add((offset, (int)p.Length));
            }
        }
        catch (FrameException e)
        {
            expectedError = e;
        }
        catch (Exception e)
        {
            report.Failures.Add($"#{i}: the codec threw {e.GetType().Name} (not a FrameException): {e.Message}");
            return;
        }
        long remaining = whole.Length;

        // The same bytes split at random points must give the same outcome.
        ReadOnlySequence<byte> split = Split(rng, input);
        int count = 0;
        Exception? splitError = null;
        try
        {
            while (!split.IsEmpty && SequenceFrames.TryDecode(ref split, options, out ReadOnlySequence<byte> p))
            {
                if (count >= expected.Count || !p.ToArray().AsSpan().SequenceEqual(input.AsSpan(expected[count].Offset, expected[count].Length)))
                {
                    report.Failures.Add($"#{i}: split and contiguous decoding disagree on frame {count}");
                    return;
                }
                count++;
            }
        }
        catch (FrameException e)
        {
            splitError = e;
        }
        catch (Exception e)
        {
            report.Failures.Add($"#{i}: the codec (split input) threw {e.GetType().Name} (not a FrameException): {e.Message}");
            return;
        }
        if (count != expected.Count || splitError?.GetType() != expectedError?.GetType() || (splitError is null && split.Length != remaining))
        {
            report.Failures.Add($"#{i}: split decoding ended differently ({splitError?.GetType().Name ?? "ok"} vs {expectedError?.GetType().Name ?? "ok"})");
            return;
        }

        // The reader must agree too: same frames, then null (clean end), IncompleteFrameException (cut) or the same error.
        List<byte[]> streamed = ReadAll(rng, input, options, out Exception? readerError, out long allocated);
        report.MaxAllocatedPerInput = Math.Max(report.MaxAllocatedPerInput, allocated);
        if (allocated > options.MaxPayloadLength + AllocationSlack + AllocationPerRead * LastReads)
        {
            report.Failures.Add($"#{i}: decoding allocated {allocated:N0} bytes, over the {options.MaxPayloadLength:N0}-byte limit plus slack (input {input.Length} bytes in {LastReads} reads, {streamed.Count} frames, then {readerError?.GetType().Name ?? "end"}; {LastMode})");
        }
        if (readerError is not null and not FrameException)
        {
            report.Failures.Add($"#{i}: the reader threw {readerError.GetType().Name} (not a FrameException): {readerError.Message}");
            return;
        }
        Type? expectedReaderError = expectedError?.GetType() ?? (remaining > 0 ? typeof(IncompleteFrameException) : null);
        if (streamed.Count != expected.Count || readerError?.GetType() != expectedReaderError)
        {
            report.Failures.Add($"#{i}: the reader gave {streamed.Count} frames then {readerError?.GetType().Name ?? "end"}; the codec {expected.Count} then {expectedReaderError?.Name ?? "end"}");
            return;
        }
        for (int k = 0; k < streamed.Count; k++)
        {
            if (!streamed[k].AsSpan().SequenceEqual(input.AsSpan(expected[k].Offset, expected[k].Length)))
            {
                report.Failures.Add($"#{i}: the reader's frame {k} differs from the codec's");
                return;
            }
        }

        if (expectedError is not null)
        {
            report.MutatedRejected++;
            string key = expectedError.GetType().Name;
            report.Rejections[key] = report.Rejections.GetValueOrDefault(key) + 1;
        }
        else if (remaining > 0)
        {
            report.MutatedIncomplete++;
        }
        else
        {
            report.MutatedDecodedWhole++;
        }
    }

    /// <summary>Every frame the reader returns until the end or an error; counts only the reader's own allocations.</summary>
    [ThreadStatic] private static string? LastMode;
    [ThreadStatic] private static long LastReads;

    private static List<byte[]> ReadAll(Random rng, byte[] input, FrameOptions options, out Exception? error, out long allocated)
    {
        bool sync = rng.Next(2) == 0;
        // Tiny reads on small inputs (every byte boundary), larger ones on big inputs (keeps the run fast).
        int maxChunk = rng.Next(4) switch { 0 when input.Length <= 4096 => 1 + rng.Next(16), 0 or 1 => 1 + rng.Next(4096), _ => int.MaxValue };
        var stream = new ChunkedStream(input, new Random(rng.Next()), maxChunk);
        LastMode = $"sync={sync} chunk={maxChunk}";
        List<byte[]> frames = [];
        error = null;
        allocated = 0;
        using var reader = new FrameReader(stream);
        for (int guard = 0; guard <= input.Length / FrameCodec.Overhead + 1; guard++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            PipeMessage? message;
            try
            {
                ValueTask<PipeMessage?> read = reader.ReadAsync(options, sync, CancellationToken.None);
                // The stream never waits, so even the async path completes on this thread.
                message = read.IsCompleted ? read.Result : throw new InvalidOperationException("The reader did not complete over an in-memory stream.");
            }
            catch (Exception e)
            {
                allocated += GC.GetAllocatedBytesForCurrentThread() - before;
                LastReads = stream.Reads;
                error = e;
                return frames;
            }
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            if (message is null)
            {
                LastReads = stream.Reads;
                return frames;
            }
            using (message)
            {
                frames.Add(message.ToArray());
            }
        }
        LastReads = stream.Reads;
        error = new InvalidOperationException("The reader returned more frames than the input can hold.");
        return frames;
    }

    private static byte[] Mutate(Random rng, byte[] frame, FrameOptions options)
    {
        var bytes = new List<byte>(frame);
        if (rng.Next(8) == 0)
        {
            bytes.AddRange(frame); // two frames, so the damage may land in the second one
        }
        int mutations = 1 + rng.Next(3);
        for (int m = 0; m < mutations; m++)
        {
            switch (rng.Next(10))
            {
                case 0 when bytes.Count > 0:
                    int bit = rng.Next(bytes.Count * 8);
                    bytes[bit / 8] ^= (byte)(1 << (bit % 8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[rng.Next(bytes.Count)] = (byte)rng.Next(256);
                    break;
                case 2:
                    bytes.RemoveRange(rng.Next(bytes.Count + 1) is var at ? at : 0, bytes.Count - at);
                    break;
                case 3:
                    byte[] extra = new byte[1 + rng.Next(32)];
                    rng.NextBytes(extra);
                    bytes.AddRange(extra);
                    break;
                case 4:
                    SetField(bytes, 0, Interesting(rng, options, frame), options.ByteOrder);
                    break;
                case 5:
                    SetField(bytes, 4, Interesting(rng, options, frame), options.ByteOrder);
                    break;
                case 6:
                    uint data = Interesting(rng, options, frame);
                    SetField(bytes, 0, unchecked(data + 8), options.ByteOrder); // consistent lengths, wrong body length
                    SetField(bytes, 4, data, options.ByteOrder);
                    break;
                case 7:
                    bytes.Insert(rng.Next(bytes.Count + 1), (byte)rng.Next(256));
                    break;
                case 8 when bytes.Count > 0:
                    bytes.RemoveAt(rng.Next(bytes.Count));
                    break;
                default:
                    if (bytes.Count >= FrameCodec.CrcLength)
                    {
                        bytes[bytes.Count - 1 - rng.Next(FrameCodec.CrcLength)] ^= (byte)(1 + rng.Next(255));
                    }
                    break;
            }
        }
        return [.. bytes];
    }

    private static uint Interesting(Random rng, FrameOptions options, byte[] frame)
    {
        uint max = (uint)options.MaxPayloadLength;
        uint data = (uint)(frame.Length - FrameCodec.Overhead);
        uint[] values = [0, 1, 4, 7, 8, 9, 11, 12, max - 1, max, max + 1, max + 7, max + 8, max + 9, 0x7FFFFFF0, 0x7FFFFFFF,
            0x80000000, 0xFFFFFFF7, 0xFFFFFFF8, 0xFFFFFFFF, data - 1, data + 1, data + 7, data + 9, (uint)rng.NextInt64(0, 1L << 32)];
        return values[rng.Next(values.Length)];
    }

    private static void SetField(List<byte> bytes, int offset, uint value, ByteOrder order)
    {
        Span<byte> field = stackalloc byte[4];
        if (order == ByteOrder.LittleEndian)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(field, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(field, value);
        }
        for (int k = 0; k < 4 && offset + k < bytes.Count; k++)
        {
            bytes[offset + k] = field[k];
        }
    }

    /// <summary>The bytes as a sequence of 1 to 6 segments cut at random points (empty segments included).</summary>
    public static ReadOnlySequence<byte> Split(Random rng, byte[] bytes)
    {
        int cuts = rng.Next(6);
        int[] points = [.. Enumerable.Range(0, cuts).Select(_ => rng.Next(bytes.Length + 1)).Append(0).Append(bytes.Length).Order()];
        Segment? first = null, last = null;
        for (int k = 0; k + 1 < points.Length; k++)
        {
            var segment = new Segment(bytes.AsMemory(points[k], points[k + 1] - points[k]), last);
            first ??= segment;
            last = segment;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }

    /// <summary>An in-memory stream whose reads return at most a random number of bytes, as a pipe does.</summary>
    private sealed class ChunkedStream(byte[] data, Random rng, int maxChunk) : Stream
    {
        private int _position;

        public long Reads { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            Reads++;
            int n = Math.Min(Math.Min(buffer.Length, data.Length - _position), maxChunk == int.MaxValue ? int.MaxValue : 1 + rng.Next(maxChunk));
            data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
