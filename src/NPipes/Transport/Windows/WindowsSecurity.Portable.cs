using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NPipes.Transport;

/// <summary>
/// The kernel32/advapi32 calls the netstandard2.0 build's Windows server needs: CreateNamedPipe with a security
/// descriptor, and the descriptor that admits the current user only. (.NET 10 does this inside
/// <c>PipeOptions.CurrentUserOnly</c>; netstandard2.0 has no way to pass a PipeSecurity.)
/// </summary>
internal static class WindowsSecurity
{
    /// <summary>
    /// Owner and only ACE: this process's user (its token's user SID), with FILE_GENERIC_READ | FILE_GENERIC_WRITE
    /// (read, write, and FILE_CREATE_PIPE_INSTANCE so the server can add instances), and a protected DACL (nothing
    /// inherited). Everyone else, Administrators and SYSTEM included, gets ERROR_ACCESS_DENIED on connect.
    /// </summary>
    public static Descriptor CurrentUserOnlyDescriptor()
    {
        string sid = CurrentUserSid();
        string sddl = string.Format(CultureInfo.InvariantCulture, "O:{0}D:P(A;;0x12019f;;;{0})", sid);
        if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, 1, out IntPtr descriptor, IntPtr.Zero))
        {
            throw new Win32Exception(Marshal.GetLastWin32Error(), "Cannot build the pipe's current-user-only security descriptor.");
        }
        return new Descriptor(descriptor);
    }

    /// <summary>The string SID of the user this process runs as (TokenUser).</summary>
    public static string CurrentUserSid()
    {
        const uint TokenQuery = 0x8;
        const int TokenUser = 1;
        if (!OpenProcessToken(GetCurrentProcess(), TokenQuery, out IntPtr token))
        {
            throw new Win32Exception(Marshal.GetLastWin32Error(), "Cannot open this process's token.");
        }
        try
        {
            GetTokenInformation(token, TokenUser, IntPtr.Zero, 0, out int needed);
            IntPtr buffer = Marshal.AllocHGlobal(needed);
            try
            {
                if (!GetTokenInformation(token, TokenUser, buffer, needed, out _))
                {
                    throw new Win32Exception(Marshal.GetLastWin32Error(), "Cannot read this process's user.");
                }
                // TOKEN_USER { SID_AND_ATTRIBUTES User { PSID Sid; DWORD Attributes; } }: the SID pointer comes first.
                if (!ConvertSidToStringSidW(Marshal.ReadIntPtr(buffer), out IntPtr text))
                {
                    throw new Win32Exception(Marshal.GetLastWin32Error(), "Cannot format this process's user SID.");
                }
                try
                {
                    return Marshal.PtrToStringUni(text)!;
                }
                finally
                {
                    LocalFree(text);
                }
            }
            finally
            {
                Marshal.FreeHGlobal(buffer);
            }
        }
        finally
        {
            CloseHandle(token);
        }
    }

    /// <summary>A self-relative security descriptor from LocalAlloc as SECURITY_ATTRIBUTES; default: none (the system's default ACL).</summary>
    public readonly struct Descriptor(IntPtr descriptor) : IDisposable
    {
        /// <summary>A pointer to the SECURITY_ATTRIBUTES, valid until disposed; null for the default.</summary>
        public IntPtr Attributes { get; } = descriptor == IntPtr.Zero ? IntPtr.Zero : NewAttributes(descriptor);

        public void Dispose()
        {
            if (Attributes != IntPtr.Zero)
            {
                LocalFree(Marshal.ReadIntPtr(Attributes, IntPtr.Size)); // lpSecurityDescriptor
                Marshal.FreeHGlobal(Attributes);
            }
        }

        private static IntPtr NewAttributes(IntPtr descriptor)
        {
            // SECURITY_ATTRIBUTES { DWORD nLength; LPVOID lpSecurityDescriptor; BOOL bInheritHandle; }
            int size = IntPtr.Size * 3;
            IntPtr attributes = Marshal.AllocHGlobal(size);
            Marshal.WriteInt32(attributes, 0, size);
            Marshal.WriteIntPtr(attributes, IntPtr.Size, descriptor);
            Marshal.WriteInt32(attributes, IntPtr.Size * 2, 0);
            return attributes;
        }
    }

    [DllImport("kernel32", EntryPoint = "CreateNamedPipeW", CharSet = CharSet.Unicode, SetLastError = true)]
    public static extern SafePipeHandle CreateNamedPipe(string name, uint openMode, uint pipeMode, uint maxInstances,
        uint outBufferSize, uint inBufferSize, uint defaultTimeout, IntPtr securityAttributes);

    [DllImport("advapi32", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern bool ConvertStringSecurityDescriptorToSecurityDescriptorW(string sddl, uint revision, out IntPtr descriptor, IntPtr size);

    [DllImport("advapi32", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern bool ConvertSidToStringSidW(IntPtr sid, out IntPtr text);

    [DllImport("advapi32", SetLastError = true)]
    private static extern bool OpenProcessToken(IntPtr process, uint access, out IntPtr token);

    [DllImport("advapi32", SetLastError = true)]
    private static extern bool GetTokenInformation(IntPtr token, int informationClass, IntPtr information, int length, out int returned);

    [DllImport("kernel32")]
    private static extern IntPtr GetCurrentProcess();

    [DllImport("kernel32", SetLastError = true)]
    private static extern bool CloseHandle(IntPtr handle);

    [DllImport("kernel32")]
    private static extern IntPtr LocalFree(IntPtr memory);
}
