using System.Runtime.InteropServices;

namespace NPipes.WindowsTests;

/// <summary>The kernel32 calls (and constants) that npipes 1.0.1 makes through pywin32.</summary>
internal static partial class Win32
{
    public const uint PIPE_ACCESS_DUPLEX = 0x00000003;
    public const uint PIPE_TYPE_MESSAGE = 0x00000004;
    public const uint PIPE_READMODE_MESSAGE = 0x00000002;
    public const uint PIPE_WAIT = 0x00000000;
    public const uint GENERIC_READ = 0x80000000;
    public const uint GENERIC_WRITE = 0x40000000;
    public const uint OPEN_EXISTING = 3;

    public const int ERROR_FILE_NOT_FOUND = 2;
    public const int ERROR_BROKEN_PIPE = 109;
    public const int ERROR_PIPE_BUSY = 231;
    public const int ERROR_NO_DATA = 232;
    public const int ERROR_PIPE_NOT_CONNECTED = 233;
    public const int ERROR_MORE_DATA = 234;
    public const int ERROR_PIPE_CONNECTED = 535;

    public static readonly IntPtr INVALID_HANDLE_VALUE = new(-1);

    [LibraryImport("kernel32.dll", EntryPoint = "CreateNamedPipeW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    public static partial IntPtr CreateNamedPipe(string lpName, uint dwOpenMode, uint dwPipeMode, uint nMaxInstances,
        uint nOutBufferSize, uint nInBufferSize, uint nDefaultTimeOut, IntPtr lpSecurityAttributes);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool ConnectNamedPipe(IntPtr hNamedPipe, IntPtr lpOverlapped);

    [LibraryImport("kernel32.dll", EntryPoint = "CreateFileW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    public static partial IntPtr CreateFile(string lpFileName, uint dwDesiredAccess, uint dwShareMode,
        IntPtr lpSecurityAttributes, uint dwCreationDisposition, uint dwFlagsAndAttributes, IntPtr hTemplateFile);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool SetNamedPipeHandleState(IntPtr hNamedPipe, ref uint lpMode,
        IntPtr lpMaxCollectionCount, IntPtr lpCollectDataTimeout);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static unsafe partial bool WriteFile(IntPtr hFile, byte* lpBuffer, uint nNumberOfBytesToWrite,
        out uint lpNumberOfBytesWritten, IntPtr lpOverlapped);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static unsafe partial bool ReadFile(IntPtr hFile, byte* lpBuffer, uint nNumberOfBytesToRead,
        out uint lpNumberOfBytesRead, IntPtr lpOverlapped);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool CloseHandle(IntPtr hObject);

    [LibraryImport("kernel32.dll", EntryPoint = "GetModuleHandleW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    public static partial IntPtr GetModuleHandle(string lpModuleName);

    [LibraryImport("kernel32.dll", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr GetProcAddress(IntPtr hModule, string lpProcName);
}
