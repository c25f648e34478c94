using System.ComponentModel;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.CodeAnalysis;

namespace System.IO
{
    /// <summary>.NET 7's Unix permission bits (the subset NPipes sets), for netstandard2.0.</summary>
    [Flags]
    [Embedded]
    internal enum UnixFileMode
    {
        None = 0,
        OtherWrite = 0x2,
        OtherRead = 0x4,
        GroupWrite = 0x10,
        GroupRead = 0x20,
        UserWrite = 0x80,
        UserRead = 0x100,
    }

    /// <summary>.NET 7's <c>File.SetUnixFileMode</c> and <c>FileSystemInfo.LinkTarget</c> for netstandard2.0: chmod(2) and readlink(2).</summary>
    [Embedded]
    internal static class UnixFilePolyfills
    {
        extension(File)
        {
            public static void SetUnixFileMode(string path, UnixFileMode mode)
            {
                if (UnixLibc.chmod(UnixLibc.Utf8Z(path), (uint)mode) != 0)
                {
                    int errno = Marshal.GetLastWin32Error();
                    throw new IOException($"Cannot set the mode of '{path}': {new Win32Exception(errno).Message}", errno);
                }
            }
        }

        extension(Directory)
        {
            /// <summary>mkdtemp(3) under the temporary directory: a new directory of mode 0700, as .NET 7+ makes it on Unix.</summary>
            public static DirectoryInfo CreateTempSubdirectory(string? prefix = null)
            {
                byte[] template = UnixLibc.Utf8Z(Path.Combine(Path.GetTempPath(), (prefix ?? string.Empty) + "XXXXXX"));
                if (UnixLibc.mkdtemp(template) == IntPtr.Zero)
                {
                    int errno = Marshal.GetLastWin32Error();
                    throw new IOException($"Cannot create a temporary directory: {new Win32Exception(errno).Message}", errno);
                }
                return new DirectoryInfo(Encoding.UTF8.GetString(template, 0, template.Length - 1));
            }
        }

        extension(FileSystemInfo info)
        {
            /// <summary>The target of the symbolic link at this path (never followed), or null when it is not one.</summary>
            public unsafe string? LinkTarget
            {
                get
                {
                    byte* buffer = stackalloc byte[4096];
                    nint n = UnixLibc.readlink(UnixLibc.Utf8Z(info.FullName), buffer, 4096);
                    return n < 0 ? null : Encoding.UTF8.GetString(buffer, (int)n);
                }
            }
        }
    }
}

namespace System.Net.Sockets
{
    /// <summary>.NET 5's <c>Socket.GetRawSocketOption</c> for netstandard2.0: getsockopt(2) on the socket's descriptor (Unix only).</summary>
    [Embedded]
    internal static class SocketOptionPolyfills
    {
        extension(Socket socket)
        {
            public unsafe int GetRawSocketOption(int optionLevel, int optionName, Span<byte> optionValue)
            {
                uint length = (uint)optionValue.Length;
                fixed (byte* value = optionValue)
                {
                    if (UnixLibc.getsockopt((int)socket.Handle, optionLevel, optionName, value, ref length) != 0)
                    {
                        throw new SocketException(Marshal.GetLastWin32Error());
                    }
                }
                return (int)length;
            }
        }
    }
}

namespace System.Runtime.InteropServices
{
    /// <summary>.NET 6's <c>Marshal</c> error helpers for netstandard2.0.</summary>
    [Embedded]
    internal static class MarshalPolyfills
    {
        extension(Marshal)
        {
            public static int GetLastPInvokeError() => Marshal.GetLastWin32Error();

            public static string GetPInvokeErrorMessage(int error) => new System.ComponentModel.Win32Exception(error).Message;
        }
    }

    /// <summary>The libc functions the polyfills above call, through DllImport.</summary>
    [Embedded]
    internal static unsafe class UnixLibc
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int chmod(byte[] path, uint mode);

        [DllImport("libc", SetLastError = true)]
        public static extern IntPtr mkdtemp(byte[] template);

        [DllImport("libc", SetLastError = true)]
        public static extern nint readlink(byte[] path, byte* buffer, nint size);

        [DllImport("libc", SetLastError = true)]
        public static extern int getsockopt(int socket, int level, int optionName, byte* optionValue, ref uint optionLength);

        /// <summary>A NUL-terminated UTF-8 copy of <paramref name="s"/>.</summary>
        public static byte[] Utf8Z(string s)
        {
            byte[] bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
            Encoding.UTF8.GetBytes(s, 0, s.Length, bytes, 0);
            return bytes;
        }
    }
}
