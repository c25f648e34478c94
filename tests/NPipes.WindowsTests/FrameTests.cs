using System.Text;
using System.Text.Json;

namespace NPipes.WindowsTests;

/// <summary>Checks the test oracle itself against npipes 1.0.1's own frames (runs on any OS).</summary>
public class FrameTests
{
    [Fact]
    public async Task Crc32OfHello()
    {
        await WineSafe.AsyncBody;
        Assert.Equal(0xF7D18982u, System.IO.Hashing.Crc32.HashToUInt32("Hello"u8));
    }

    [Fact]
    public async Task HelloBigEndianWithCrc()
    {
        await WineSafe.AsyncBody;
        byte[] frame = Frame.Encode("Hello"u8, bigEndian: true, crc: true);
        Assert.Equal("0000000d0000000548656c6c6ff7d18982", Convert.ToHexStringLower(frame));
        Assert.Equal("Hello"u8.ToArray(), Frame.Decode(frame, true, true));
    }

    [Fact]
    public async Task Decode_RejectsBadCrcAndBadLengths()
    {
        await WineSafe.AsyncBody;
        byte[] frame = Frame.Encode("Hello"u8, bigEndian: false, crc: true);
        frame[^1] ^= 1;
        Assert.Throws<InvalidDataException>(() => Frame.Decode(frame, false, true));
        Assert.Equal("Hello"u8.ToArray(), Frame.Decode(frame, false, false)); // CRC off: field not checked

        byte[] bad = Frame.Encode("Hello"u8, bigEndian: false, crc: false);
        bad[0]++; // MessageLength != DataLength + 8
        Assert.Throws<InvalidDataException>(() => Frame.Decode(bad, false, false));
    }

    /// <summary>
    /// The vectors produced by npipes 1.0.1 (the repository's tests/vectors, a copy of ../shared/vectors). The lane
    /// passes their path in NPIPES_VECTORS; outside the lane the test finds tests/vectors above its own folder.
    /// </summary>
    [Fact]
    public async Task MatchesNpipesVectors()
    {
        await WineSafe.AsyncBody;
        string? path = FindVectors();
        Assert.True(path is not null, "tests/vectors/npipes-1.0.1-frames.json not found above the test folder (or set NPIPES_VECTORS)");
        using var doc = JsonDocument.Parse(File.ReadAllText(path!));
        int n = 0;
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            Encoding enc = c.GetProperty("encoding").GetString() switch
            {
                "ascii" => Encoding.ASCII,
                "latin-1" => Encoding.Latin1,
                "utf-8" => Encoding.UTF8,
                var e => throw new InvalidDataException("unknown encoding " + e),
            };
            bool big = c.GetProperty("endian").GetString() == "big";
            bool crc = c.GetProperty("crc").GetBoolean();
            byte[] expected = Convert.FromHexString(c.GetProperty("frame_hex").GetString()!);
            byte[] data = enc.GetBytes(text);
            Assert.Equal(expected, Frame.Encode(data, big, crc));
            Assert.Equal(data, Frame.Decode(expected, big, crc));
            n++;
        }
        Assert.True(n > 0);
    }

    private static string? FindVectors()
    {
        string? env = Environment.GetEnvironmentVariable("NPIPES_VECTORS");
        if (!string.IsNullOrEmpty(env) && File.Exists(env))
            return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "vectors", "npipes-1.0.1-frames.json");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
