using System.Runtime.InteropServices;

namespace NPipes.Transport;

/// <summary>
/// The Linux calls behind shared memory (docs/shared-memory.md §3, §4): memfd_create, ftruncate, pwrite, mmap/munmap, the
/// sealing fcntls, statx, SIOCOUTQ, close. The constants are Linux's generic values (x86-64 and arm64 alike); only the
/// Linux code of the net10.0 build calls them.
/// </summary>
internal static unsafe partial class MemfdNative
{
    public const uint MfdCloexec = 0x1;
    public const uint MfdAllowSealing = 0x2;
    public const int ProtRead = 0x1;
    public const int ProtWrite = 0x2;
    public const int MapShared = 0x1;

    /// <summary>
    /// MAP_POPULATE: the pages are mapped by mmap itself instead of by one fault each (256 faults per MiB cost more than
    /// the copy and the CRC together).
    /// </summary>
    public const int MapPopulate = 0x8000;
    public const int FAddSeals = 1033;
    public const int FGetSeals = 1034;
    public const int SealSeal = 0x1;
    public const int SealShrink = 0x2;
    public const int SealGrow = 0x4;
    public const int SealWrite = 0x8;

    /// <summary>What a sender adds (§3.2) and what a receiver requires but F_SEAL_SEAL (§4.4).</summary>
    public const int SealsAdded = SealShrink | SealGrow | SealWrite | SealSeal;
    public const int SealsRequired = SealShrink | SealGrow | SealWrite;

    /// <summary>What a ring's sender adds and what its receiver requires but F_SEAL_SEAL (§8: both sides keep writing).</summary>
    public const int RingSealsAdded = SealShrink | SealGrow | SealSeal;
    public const int RingSealsRequired = SealShrink | SealGrow;

    /// <summary>SIOCOUTQ (= TIOCOUTQ): bytes in a socket's send queue not yet read by the peer.</summary>
    public const nuint SiocOutQ = 0x5411;

    public const int AtEmptyPath = 0x1000;
    public const uint StatxType = 0x1;
    public const uint StatxSize = 0x200;
    public const int StatxModeOffset = 28;
    public const int StatxSizeOffset = 40;
    public const int StatxLength = 256;
    public const ushort SIfmt = 0xF000;
    public const ushort SIfreg = 0x8000;

    public static readonly nint MapFailed = -1;

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int munmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, int* value);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    public const int EINTR = 4;

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    public static partial nint pwrite(int fd, byte* buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>The message of the last failed call, for an exception.</summary>
    public static string LastError(string call) => $"{call} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}";
}
