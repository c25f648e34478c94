using System.Text.Json;

namespace NPipes.Tests.Codec;

/// <summary>
/// The frames npipes 1.0.1's own code produced (tests/vectors, a copy of ../shared/vectors) encode and decode byte for byte.
/// </summary>
public class VectorTests
{
    public record Vector(string Name, string Text, string Encoding, string Endian, bool Crc, string FrameHex)
    {
        public FrameOptions Options => new()
        {
            ByteOrder = Endian == "little" ? ByteOrder.LittleEndian : ByteOrder.BigEndian,
            Encoding = TextEncodings.Parse(Encoding),
            Crc = Crc,
        };

        public override string ToString() => Name;
    }

    public static TheoryData<Vector> Vectors()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPipes.VectorsFile));
        var data = new TheoryData<Vector>();
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(new Vector(c.GetProperty("name").GetString()!, c.GetProperty("text").GetString()!, c.GetProperty("encoding").GetString()!,
                c.GetProperty("endian").GetString()!, c.GetProperty("crc").GetBoolean(), c.GetProperty("frame_hex").GetString()!));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Encodes_to_npipes_bytes(Vector v) =>
        Assert.Equal(v.FrameHex, Convert.ToHexStringLower(FrameCodec.EncodeText(v.Text, v.Options)));

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Decodes_npipes_bytes(Vector v) =>
        Assert.Equal(v.Text, FrameCodec.DecodeText(Convert.FromHexString(v.FrameHex), v.Options));

    [Fact]
    public void Vectors_file_has_cases() => Assert.True(Vectors().Count >= 8);

    /// <summary>The repository's copy is the reference one, byte for byte (checked only where ../shared is present).</summary>
    [Fact]
    public void Repo_copy_equals_the_shared_reference()
    {
        string reference = Path.Combine(TestPipes.SharedDir, "vectors", Path.GetFileName(TestPipes.VectorsFile));
        Assert.SkipUnless(File.Exists(reference), $"no reference copy to cross-check: {reference} is absent (keep ../shared beside the repo or set NPIPES_SHARED)");
        Assert.True(File.ReadAllBytes(reference).AsSpan().SequenceEqual(File.ReadAllBytes(TestPipes.VectorsFile)),
            $"{TestPipes.VectorsFile} differs from {reference}: copy the reference into the repository");
    }
}
