namespace NPipes.Cli;

/// <summary>The CLI's exit codes: a contract other programs script against.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Other = 1;
    public const int Usage = 2;
    public const int Timeout = 3;
    public const int DataError = 4;

    /// <summary>Stopped by Ctrl-C (SIGINT) or SIGTERM before the command finished (as a shell reports SIGINT): an interrupted send was not delivered.</summary>
    public const int Interrupted = 130;

    /// <summary>Maps an error to its exit code.</summary>
    public static int For(Exception e) => e switch
    {
        TimeoutException => Timeout,
        FrameException => DataError,
        ArgumentException or FormatException => Usage,
        _ => Other,
    };
}
