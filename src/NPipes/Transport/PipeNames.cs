using System.Text;

namespace NPipes;

/// <summary>Pipe name rules and where a name lives on each platform.</summary>
public static class PipeNames
{
    /// <summary>npipes 1.0.1's default pipe name.</summary>
    public const string Default = "IPC_PIPE_DEFAULT";

    /// <summary>The longest Unix socket path, in bytes, on Linux (sun_path is 108 bytes with its NUL).</summary>
    public const int MaxUnixSocketPathBytesLinux = 107;

    /// <summary>The longest Unix socket path, in bytes, on macOS and the BSDs (sun_path is 104 bytes with its NUL).</summary>
    public const int MaxUnixSocketPathBytesBsd = 103;

    /// <summary>The longest full Windows pipe path (<c>\\.\pipe\</c> and the name), in characters.</summary>
    public const int MaxWindowsPipePathChars = 256;

    /// <summary>The prefix .NET puts before a pipe name to make its Unix socket file name.</summary>
    public const string UnixSocketPrefix = "CoreFxPipe_";

    /// <summary>
    /// The path a pipe named <paramref name="name"/> has on this platform: <c>\\.\pipe\NAME</c> on Windows,
    /// <c>Path.GetTempPath() + "CoreFxPipe_" + NAME</c> (normally <c>/tmp/CoreFxPipe_NAME</c>) elsewhere, exactly as .NET's own pipes use.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not valid; see <see cref="Validate"/>.</exception>
    public static string GetPath(string name)
    {
        Validate(name);
        return OperatingSystem.IsWindows() ? @"\\.\pipe\" + name : Path.GetTempPath() + UnixSocketPrefix + name;
    }

    /// <summary>The longest Unix socket path, in bytes, on this platform.</summary>
    internal static int MaxUnixSocketPathBytes => OperatingSystem.IsLinux() ? MaxUnixSocketPathBytesLinux : MaxUnixSocketPathBytesBsd;

    /// <summary>
    /// Checks that <paramref name="name"/> is a usable pipe name (docs/unix-endpoint.md §1): not empty, valid Unicode
    /// (no lone surrogate), no path separator, no NUL, not "." or "..", not "anonymous" (reserved by .NET), and short
    /// enough for the platform's path limit.
    /// </summary>
    /// <exception cref="ArgumentException">The name breaks a rule; the message names the rule and, for length, the limit.</exception>
    public static void Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0)
        {
            throw new ArgumentException("A pipe name cannot be empty.", nameof(name));
        }
        if (LoneSurrogateAt(name) is int at)
        {
            throw new ArgumentException($"A pipe name must be valid Unicode: it has a lone surrogate (U+{(int)name[at]:X4}) at index {at}, which has no UTF-8 encoding.", nameof(name));
        }
        if (name.Contains('\0'))
        {
            throw new ArgumentException("A pipe name cannot contain NUL.", nameof(name));
        }
        if (name.Contains('/') || name.Contains('\\'))
        {
            throw new ArgumentException($"A pipe name cannot contain a path separator ('/' or '\\'): '{name}'.", nameof(name));
        }
        if (name is "." or "..")
        {
            throw new ArgumentException($"'{name}' is not a pipe name.", nameof(name));
        }
        if (string.Equals(name, "anonymous", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException("The pipe name 'anonymous' is reserved by .NET.", nameof(name));
        }
        if (OperatingSystem.IsWindows())
        {
            int length = @"\\.\pipe\".Length + name.Length;
            if (length > MaxWindowsPipePathChars)
            {
                throw new ArgumentException($"The pipe path would be {length} characters; Windows allows at most {MaxWindowsPipePathChars}.", nameof(name));
            }
            return;
        }
        int limit = MaxUnixSocketPathBytes;
        string path = Path.GetTempPath() + UnixSocketPrefix + name;
        int bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes > limit)
        {
            throw new ArgumentException(
                $"The pipe name is too long: its socket path '{path}' is {bytes} bytes; Unix sockets allow at most {limit} bytes, " +
                $"so this name may be at most {limit - (bytes - Encoding.UTF8.GetByteCount(name))} bytes here.", nameof(name));
        }
    }

    /// <summary>The index of the first UTF-16 surrogate that is not half of a pair, or null.</summary>
    private static int? LoneSurrogateAt(string name)
    {
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsHighSurrogate(name[i]) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(name[i]))
            {
                return i;
            }
        }
        return null;
    }
}
