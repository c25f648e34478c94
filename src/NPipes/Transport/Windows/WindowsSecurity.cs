using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace NPipes.Transport;

/// <summary>
/// The pipe's security descriptor, built by NPipes in both builds (docs/access.md §3): owner this process's user, and a
/// protected DACL holding exactly that user (read, write, create instances) and the SIDs the access rule admits (read
/// and write, never FILE_CREATE_PIPE_INSTANCE, so an admitted account cannot add an instance of our pipe and answer our
/// clients). Not .NET's <c>PipeOptions.CurrentUserOnly</c>, which also demands the caller's elevation level and so
/// refuses the same user's non-elevated processes when the server is elevated.
/// </summary>
[SupportedOSPlatform("windows")]
internal static class WindowsSecurity
{
    /// <summary>FILE_GENERIC_READ | FILE_GENERIC_WRITE: read, write, and FILE_CREATE_PIPE_INSTANCE (the server's own user).</summary>
    public const uint OwnerRights = 0x12019f;

    /// <summary>The same without FILE_APPEND_DATA (= FILE_CREATE_PIPE_INSTANCE on a pipe): what admitted accounts get.</summary>
    public const uint PeerRights = 0x12019b;

    /// <summary>The SDDL of a pipe that admits <paramref name="rule"/>: owner and first ACE this process's user.</summary>
    public static string Sddl(WindowsAccessRule rule)
    {
        var sddl = new StringBuilder();
        sddl.Append("O:").Append(rule.SelfSid).Append("D:P");
        sddl.Append("(A;;0x").Append(OwnerRights.ToString("x", System.Globalization.CultureInfo.InvariantCulture)).Append(";;;").Append(rule.SelfSid).Append(')');
        foreach (string sid in rule.AllowedSids)
        {
            sddl.Append("(A;;0x").Append(PeerRights.ToString("x", System.Globalization.CultureInfo.InvariantCulture)).Append(";;;").Append(sid).Append(')');
        }
        return sddl.ToString();
    }

    /// <summary>The security attributes for a pipe that admits <paramref name="rule"/>.</summary>
    public static Descriptor DescriptorFor(WindowsAccessRule rule)
    {
        if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(Sddl(rule), 1, out IntPtr descriptor, IntPtr.Zero))
        {
            throw new Win32Exception(Marshal.GetLastWin32Error(), "Cannot build the pipe's security descriptor.");
        }
        return new Descriptor(descriptor);
    }

    /// <summary>A self-relative security descriptor from LocalAlloc as SECURITY_ATTRIBUTES.</summary>
    public readonly struct Descriptor(IntPtr descriptor) : IDisposable
    {
        /// <summary>A pointer to the SECURITY_ATTRIBUTES, valid until disposed.</summary>
        public IntPtr Attributes { get; } = NewAttributes(descriptor);

        public void Dispose()
        {
            if (Attributes != IntPtr.Zero)
            {
                WindowsTokens.LocalFree(Marshal.ReadIntPtr(Attributes, IntPtr.Size)); // lpSecurityDescriptor
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

    /// <summary>The pipe object's DACL as SDDL (tests read it back), or null when it cannot be read.</summary>
    public static string? DaclOf(SafeHandle pipe)
    {
        const int SeKernelObject = 6, OwnerAndDacl = 0x1 | 0x4;
        if (GetSecurityInfo(pipe, SeKernelObject, OwnerAndDacl, out _, out _, out _, out _, out IntPtr descriptor) != 0)
        {
            return null;
        }
        try
        {
            return ConvertSecurityDescriptorToStringSecurityDescriptorW(descriptor, 1, OwnerAndDacl, out IntPtr text, out _)
                ? TakeString(text) : null;
        }
        finally
        {
            WindowsTokens.LocalFree(descriptor);
        }
    }

    /// <summary>The owner SID of the pipe object, or null when it cannot be read.</summary>
    public static string? OwnerOf(SafeHandle pipe)
    {
        const int SeKernelObject = 6, Owner = 0x1;
        if (GetSecurityInfo(pipe, SeKernelObject, Owner, out IntPtr owner, out _, out _, out _, out IntPtr descriptor) != 0)
        {
            return null;
        }
        try
        {
            return WindowsTokens.SidString(owner);
        }
        finally
        {
            WindowsTokens.LocalFree(descriptor);
        }
    }

    private static string? TakeString(IntPtr text)
    {
        try
        {
            return Marshal.PtrToStringUni(text);
        }
        finally
        {
            WindowsTokens.LocalFree(text);
        }
    }

    [DllImport("kernel32", EntryPoint = "CreateNamedPipeW", CharSet = CharSet.Unicode, SetLastError = true)]
    public static extern SafePipeHandle CreateNamedPipe(string name, uint openMode, uint pipeMode, uint maxInstances,
        uint outBufferSize, uint inBufferSize, uint defaultTimeout, IntPtr securityAttributes);

    [DllImport("advapi32", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern bool ConvertStringSecurityDescriptorToSecurityDescriptorW(string sddl, uint revision, out IntPtr descriptor, IntPtr size);

    [DllImport("advapi32", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern bool ConvertSecurityDescriptorToStringSecurityDescriptorW(IntPtr descriptor, uint revision, int information, out IntPtr text, out int length);

    [DllImport("advapi32")]
    private static extern uint GetSecurityInfo(SafeHandle handle, int objectType, int information, out IntPtr owner, out IntPtr group, out IntPtr dacl, out IntPtr sacl, out IntPtr descriptor);
}
