using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Security.Principal;
using System.Text.RegularExpressions;
using static NPipes.WindowsTests.Pipes;

namespace NPipes.WindowsTests.Library;

/// <summary>
/// What must hold on each build of the library (this suite runs against the net10.0 build as NPipes.WindowsTests and
/// against the netstandard2.0 build as NPipes.WindowsTests.NetStandard): which build it is, large CRC frames byte for
/// byte, and a server's pipe that admits the current user only.
/// </summary>
[SupportedOSPlatform("windows")]
public partial class LibraryBuildTests
{
    [Fact]
    public void The_library_under_test_is_the_build_this_suite_is_for()
    {
        string? framework = typeof(Ipc).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName;
#if NPIPES_NETSTANDARD
        Assert.Equal(".NETStandard,Version=v2.0", framework);
#else
        Assert.Equal(".NETCoreApp,Version=v10.0", framework);
#endif
    }

    [Fact]
    public async Task One_and_twenty_four_MiB_arrive_byte_for_byte_with_crc()
    {
        Require.Windows();
        string name = NewName();
        var options = new NPipesOptions { Timeout = Guard, Frame = new FrameOptions { Crc = true, MaxPayloadLength = 32 << 20 } };
        byte[][] payloads = [RandomNumberGenerator.GetBytes(1 << 20), RandomNumberGenerator.GetBytes(24 << 20)];
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = options });
        Task<PipeConnection> accepted = server.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        await using PipeConnection client = await Within(PipeConnection.ConnectAsync(name, options, TestContext.Current.CancellationToken));
        await using PipeConnection peer = await Within(accepted);
        Task sending = Task.Run(async () =>
        {
            foreach (byte[] payload in payloads)
            {
                await client.SendAsync(payload, TestContext.Current.CancellationToken);
            }
        }, TestContext.Current.CancellationToken);
        foreach (byte[] payload in payloads)
        {
            using PipeMessage? message = await Within(peer.ReceiveAsync(TestContext.Current.CancellationToken).AsTask());
            Assert.NotNull(message);
            Assert.Equal(payload.Length, message.Length);
            Assert.True(payload.AsSpan().SequenceEqual(message.Payload.Span), $"the {payload.Length}-byte payload arrived changed");
            Assert.Equal(FrameCodec.ComputeCrc(payload), message.Crc);
        }
        await Within(sending);
    }

    [Fact]
    public async Task A_servers_pipe_admits_the_current_user_only()
    {
        Require.Windows();
        string name = NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = new NPipesOptions { Timeout = Guard } });
        Task<PipeConnection> accepted = server.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        using var raw = Client(name);
        raw.Connect(ConnectGuardMs);
        await using PipeConnection peer = await Within(accepted);

        string? sddl = Dacl(raw.SafePipeHandle.DangerousGetHandle(), out int error);
        if (sddl is null && WineDetect.IsWine)
        {
            Assert.Skip($"{WineDetect.Describe()} gave no security descriptor for the pipe (error {error}). Runs on real Windows.");
        }
        Assert.NotNull(sddl);
        using WindowsIdentity me = WindowsIdentity.GetCurrent();
        string[] allowed = [me.User!.Value, me.Owner!.Value];
        MatchCollection aces = AceSid().Matches(sddl);
        Assert.True(aces.Count > 0, $"no ACE in {sddl}");
        foreach (Match ace in aces)
        {
            Assert.True(ace.Groups["type"].Value == "A" && allowed.Contains(ace.Groups["sid"].Value), $"an ACE for someone else in {sddl} (this user: {me.User.Value})");
        }
    }

    /// <summary>The DACL of a kernel object as SDDL, or null (with the error) when the system does not give it.</summary>
    private static string? Dacl(IntPtr handle, out int error)
    {
        const int SeKernelObject = 6;
        const uint DaclSecurityInformation = 0x4;
        error = (int)GetSecurityInfo(handle, SeKernelObject, DaclSecurityInformation, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, out IntPtr descriptor);
        if (error != 0)
        {
            return null;
        }
        try
        {
            if (!ConvertSecurityDescriptorToStringSecurityDescriptorW(descriptor, 1, DaclSecurityInformation, out IntPtr text, IntPtr.Zero))
            {
                error = Marshal.GetLastPInvokeError();
                return null;
            }
            string sddl = Marshal.PtrToStringUni(text)!;
            LocalFree(text);
            return sddl;
        }
        finally
        {
            LocalFree(descriptor);
        }
    }

    [GeneratedRegex(@"\((?<type>[A-Z]+);[^;]*;[^;]*;[^;]*;[^;]*;(?<sid>[^;)]+)\)")]
    private static partial Regex AceSid();

    [LibraryImport("advapi32.dll")]
    private static partial uint GetSecurityInfo(IntPtr handle, int objectType, uint securityInfo, IntPtr owner, IntPtr group, IntPtr dacl, IntPtr sacl, out IntPtr descriptor);

    [LibraryImport("advapi32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool ConvertSecurityDescriptorToStringSecurityDescriptorW(IntPtr descriptor, uint revision, uint securityInfo, out IntPtr text, IntPtr length);

    [LibraryImport("kernel32.dll")]
    private static partial IntPtr LocalFree(IntPtr memory);
}
