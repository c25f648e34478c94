namespace NPipes.Cli;

/// <summary>
/// The CLI's exit codes: a contract other programs script against, the same in the Python CLI (python -m npipes). The
/// table is in src/NPipes.Cli/README.md.
/// </summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Other = 1;
    public const int Usage = 2;
    public const int Timeout = 3;
    public const int DataError = 4;

    /// <summary>Stopped by Ctrl-C (SIGINT) before the command finished: 128 + SIGINT (2), as a shell reports it. An interrupted send was not delivered.</summary>
    public const int Interrupted = 130;

    /// <summary>Stopped by SIGTERM before the command finished: 128 + SIGTERM (15).</summary>
    public const int Terminated = 143;

    /// <summary>Maps an error to its exit code.</summary>
    public static int For(Exception e) => e switch
    {
        TimeoutException => Timeout,
        FrameException or StdinTextException => DataError,
        ArgumentException or FormatException => Usage,
        _ => Other,
    };
}
