namespace NPipes.Diagnostics;

/// <summary>Tag names and the fixed tag values NPipes' instruments use (strings made once, so tagging allocates nothing).</summary>
internal static class NPipesTags
{
    public const string PipeName = "npipes.pipe.name";
    public const string RefusalReason = "npipes.refusal.reason";
    public const string DisconnectReason = "npipes.disconnect.reason";
    public const string RequestSide = "npipes.request.side";
    public const string ErrorType = "error.type";

    public const string RefusedByLimit = "connection_limit";
    public const string RefusedByAccess = "access";

    public static readonly KeyValuePair<string, object?> ClientSide = new(RequestSide, "client");
    public static readonly KeyValuePair<string, object?> ServerSide = new(RequestSide, "server");

    private static readonly string[] Reasons =
        ["none", "local_close", "peer_closed", "peer_died_mid_frame", "protocol_error", "aborted", "io_error", "idle_timeout", "write_timeout", "frame_timeout"];

    /// <summary>The tag value of a <see cref="NPipes.DisconnectReason"/>: its name in snake case.</summary>
    public static string Of(DisconnectReason reason) => (uint)reason < (uint)Reasons.Length ? Reasons[(int)reason] : "unknown";

    /// <summary>The <c>error.type</c> of a frame error, as the instrument documents it.</summary>
    public static string Of(FrameException error) => error switch
    {
        CrcMismatchException => "crc_mismatch",
        FrameTooLargeException => "frame_too_large",
        FrameLengthMismatchException => "length_mismatch",
        IncompleteFrameException => "incomplete",
        InvalidTextException => "invalid_text",
        _ => "frame_error",
    };
}
