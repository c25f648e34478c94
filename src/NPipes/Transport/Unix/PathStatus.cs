using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>What <c>lstat</c> shows at a path (doc §3).</summary>
internal enum PathKind
{
    /// <summary>Nothing: the name is free.</summary>
    Missing,
    Socket,
    SymbolicLink,
    Fifo,
    Directory,
    RegularFile,
    CharacterDevice,
    BlockDevice,
    /// <summary>A file type lstat reports that none of the above is.</summary>
    OtherType,
    /// <summary>Neither a symbolic link nor a directory, but the portable fallback cannot say which type: maybe a socket.</summary>
    Unclassified,
}

/// <summary>A file's identity: its device and inode.</summary>
internal readonly record struct FileId(uint DevMajor, uint DevMinor, ulong Inode);

/// <summary>
/// The result of looking at a path without following it: its kind and, where the system tells, its identity and owner.
/// On Linux this is <c>statx(AT_SYMLINK_NOFOLLOW)</c>: exact. Elsewhere (no verified native layout) it is
/// <see cref="FileSystemInfo"/>, which sees symbolic links (readlink) and directories but no other file type, no inode
/// and no owner: every other file is <see cref="PathKind.Unclassified"/> with no identity, so the stale rule (which
/// needs both) never removes anything there. Nothing here opens the file.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal readonly record struct PathStatus(PathKind Kind, FileId? Id, uint? Uid)
{
    private static readonly PathStatus Missing = new(PathKind.Missing, null, null);
    private static bool s_statxMissing; // a libc without statx (musl before 1.2.5): use the portable way

    /// <summary>Whether this is nothing at all.</summary>
    public bool IsMissing => Kind == PathKind.Missing;

    /// <summary>Whether this may be a server's socket (a socket, or a file the portable fallback cannot classify).</summary>
    public bool MaybeSocket => Kind is PathKind.Socket or PathKind.Unclassified;

    /// <summary>The doc's name for the kind, used in <see cref="PipePathOccupiedException.Kind"/>.</summary>
    public string KindName => Kind switch
    {
        PathKind.Socket => "socket",
        PathKind.SymbolicLink => "symbolic link",
        PathKind.Fifo => "FIFO",
        PathKind.Directory => "directory",
        PathKind.RegularFile => "regular file",
        PathKind.CharacterDevice => "character device",
        PathKind.BlockDevice => "block device",
        PathKind.OtherType => "special file",
        PathKind.Unclassified => "file",
        _ => "nothing",
    };

    /// <summary>Looks at <paramref name="path"/> without following a symbolic link there.</summary>
    /// <exception cref="IOException">The path cannot be examined (a directory on the way is not searchable, say).</exception>
    public static PathStatus Of(string path)
    {
        if (OperatingSystem.IsLinux() && !Volatile.Read(ref s_statxMissing))
        {
            try
            {
                return OfLinux(path);
            }
            catch (EntryPointNotFoundException)
            {
                Volatile.Write(ref s_statxMissing, true);
            }
        }
        return OfPortable(path);
    }

    /// <summary>The doc §3 error for a path that holds something other than a (maybe) socket.</summary>
    public PipePathOccupiedException Occupied(string path) => new(path, KindName);

    [SupportedOSPlatform("linux")]
    private static unsafe PathStatus OfLinux(string path)
    {
        const int AtFdCwd = -100;
        const int AtSymlinkNoFollow = 0x100;
        const uint StatxType = 0x1, StatxUid = 0x8, StatxIno = 0x100;
        byte* buffer = stackalloc byte[256];
        if (UnixNative.statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType | StatxUid | StatxIno, buffer) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is UnixNative.ENOENT or UnixNative.ENOTDIR)
            {
                return Missing;
            }
            throw new IOException($"Cannot examine '{path}': {UnixNative.Describe(errno)}", errno);
        }
        // struct statx: stx_mask @0, stx_uid @20, stx_mode @28 (u16), stx_ino @32, stx_dev_major @136, stx_dev_minor @140.
        uint mask = *(uint*)buffer;
        if ((mask & StatxType) == 0)
        {
            return new PathStatus(PathKind.Unclassified, null, null);
        }
        PathKind kind = (*(ushort*)(buffer + 28) & 0xF000) switch
        {
            0xC000 => PathKind.Socket,
            0xA000 => PathKind.SymbolicLink,
            0x8000 => PathKind.RegularFile,
            0x6000 => PathKind.BlockDevice,
            0x4000 => PathKind.Directory,
            0x2000 => PathKind.CharacterDevice,
            0x1000 => PathKind.Fifo,
            _ => PathKind.OtherType,
        };
        FileId? id = (mask & StatxIno) != 0 ? new FileId(*(uint*)(buffer + 136), *(uint*)(buffer + 140), *(ulong*)(buffer + 32)) : null;
        uint? uid = (mask & StatxUid) != 0 ? *(uint*)(buffer + 20) : null;
        return new PathStatus(kind, id, uid);
    }

    /// <summary>The portable look: symbolic link (readlink, which never follows), directory, missing, or unclassified.</summary>
    internal static PathStatus OfPortable(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            return new PathStatus(PathKind.SymbolicLink, null, null);
        }
        info.Refresh();
        FileAttributes attributes = info.Attributes; // -1 when nothing is there
        if ((int)attributes == -1)
        {
            return Missing;
        }
        if ((attributes & FileAttributes.ReparsePoint) != 0)
        {
            return new PathStatus(PathKind.SymbolicLink, null, null);
        }
        return (attributes & FileAttributes.Directory) != 0
            ? new PathStatus(PathKind.Directory, null, null)
            : new PathStatus(PathKind.Unclassified, null, null);
    }
}
