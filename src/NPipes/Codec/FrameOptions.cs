using System.Text;

namespace NPipes;

/// <summary>How frames are written and read: byte order, text encoding, CRC and the payload limit.</summary>
/// <remarks>Immutable; share one instance freely. The defaults match npipes 1.0.1 as installed.</remarks>
public sealed record FrameOptions
{
    /// <summary>The default payload limit: 16 MiB.</summary>
    public const long DefaultMaxPayloadLength = 16 * 1024 * 1024;

    /// <summary>The largest payload the format can describe: 4 GiB − 9, so that MessageLength (DataLength + 8) fits in 32 bits.</summary>
    public const long FormatMaxPayloadLength = uint.MaxValue - 8;

    /// <summary>Options with every default: big endian, strict ASCII, CRC off, 16 MiB limit.</summary>
    public static FrameOptions Default { get; } = new();

    private readonly Encoding _encoding = TextEncodings.Ascii;
    private readonly long _maxPayloadLength = DefaultMaxPayloadLength;

    /// <summary>The byte order of the length and CRC fields. Default <see cref="ByteOrder.BigEndian"/>, as npipes 1.0.1 writes.</summary>
    public ByteOrder ByteOrder { get; init; } = ByteOrder.BigEndian;

    /// <summary>
    /// The text encoding for string payloads. Default strict ASCII. Any encoding given here is made strict:
    /// text it cannot represent, or bytes that are invalid in it, raise <see cref="InvalidTextException"/> instead of becoming '?'.
    /// </summary>
    public Encoding Encoding
    {
        get => _encoding;
        init => _encoding = TextEncodings.Strict(value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>Whether the CRC-32 field carries the payload's CRC (and is checked on receipt). When off, 0 is written and the field is not checked.</summary>
    public bool Crc { get; init; }

    /// <summary>The largest payload accepted in either direction, checked against a frame's length prefix before anything is allocated.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or above <see cref="FormatMaxPayloadLength"/>.</exception>
    public long MaxPayloadLength
    {
        get => _maxPayloadLength;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, FormatMaxPayloadLength);
            _maxPayloadLength = value;
        }
    }
}
