namespace NPipes;

/// <summary>
/// Something that is not a pipe's socket sits at the pipe's path (on Unix: a symbolic link, FIFO, directory, regular
/// file or device). NPipes never opens, follows, deletes or changes it; it fails at once, whatever the timeout.
/// </summary>
public sealed class PipePathOccupiedException : NPipesException
{
    /// <summary>Creates the exception for the path and what was found there.</summary>
    /// <param name="path">The pipe's path.</param>
    /// <param name="kind">What is there: "symbolic link", "FIFO", "directory", "regular file", "character device",
    /// "block device", or "special file" for any other type.</param>
    public PipePathOccupiedException(string path, string kind)
        : base($"'{path}' is a {kind}, not a socket; NPipes will not open, follow, delete or change it. " +
               "Remove it or choose another pipe name.")
    {
        Path = path;
        Kind = kind;
    }

    /// <summary>The pipe's path.</summary>
    public string Path { get; }

    /// <summary>What occupies the path: "symbolic link", "FIFO", "directory", "regular file", "character device",
    /// "block device", or "special file" for any other type.</summary>
    public string Kind { get; }
}
