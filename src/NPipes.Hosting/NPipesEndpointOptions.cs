using System.Text;

namespace NPipes.Hosting;

/// <summary>
/// Settings shared by hosted servers and clients, bindable from configuration (plain settable properties; TimeSpans as
/// "00:00:05", enums by name). Each maps onto <see cref="NPipesOptions"/> and <see cref="FrameOptions"/>, whose
/// setters validate the values when the server starts or the client is made.
/// </summary>
public abstract class NPipesEndpointOptions
{
    /// <summary>Only processes of the current OS user may connect (and be connected to), plus what the server's
    /// <c>AllowUsers</c>/<c>AllowGroups</c> or the client's <c>ServerUsers</c> add. Default true; false admits everyone
    /// both ways (see <see cref="NPipesOptions.CurrentUserOnly"/>).</summary>
    public bool CurrentUserOnly { get; set; } = true;

    /// <summary>Frames carry a CRC-32 that is checked on receipt. Default false, as npipes 1.0.1 sends by default.</summary>
    public bool Crc { get; set; }

    /// <summary>The byte order of the frame's length and CRC fields. Default <see cref="NPipes.ByteOrder.BigEndian"/>, as npipes 1.0.1 writes.</summary>
    public ByteOrder ByteOrder { get; set; } = ByteOrder.BigEndian;

    /// <summary>The text encoding by name (<c>ascii</c>, <c>utf-8</c>, <c>latin1</c>, <c>utf-16</c>...); null: strict ASCII, as npipes 1.0.1.</summary>
    public string? Encoding { get; set; }

    /// <summary>The largest payload accepted either way, checked before anything is allocated. Default 16 MiB.</summary>
    public long MaxPayloadLength { get; set; } = FrameOptions.DefaultMaxPayloadLength;

    /// <summary>Windows pipe buffer size. Default 65536.</summary>
    public int PipeBufferSize { get; set; } = 65536;

    /// <summary>The connection options these settings describe, reporting to the given logger and meter factories.</summary>
    /// <exception cref="ArgumentException">The encoding name is unknown.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    protected NPipesOptions ToConnectionOptions(TimeSpan timeout, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory, System.Diagnostics.Metrics.IMeterFactory? meterFactory)
    {
        FrameOptions frame = FrameOptions.Default with { ByteOrder = ByteOrder, Crc = Crc, MaxPayloadLength = MaxPayloadLength };
        if (Encoding is { Length: > 0 } name)
        {
            frame = frame with { Encoding = System.Text.Encoding.GetEncoding(name) };
        }
        return new NPipesOptions
        {
            Frame = frame,
            Timeout = timeout,
            CurrentUserOnly = CurrentUserOnly,
            PipeBufferSize = PipeBufferSize,
            LoggerFactory = loggerFactory,
            MeterFactory = meterFactory,
        };
    }
}
