using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using static NPipes.WindowsTests.Pipes;

namespace NPipes.WindowsTests.Library;

/// <summary>
/// docs/access.md on Windows (both library builds, under Wine in CI): the pipe's DACL read back from the object holds
/// exactly the allowed SIDs plus the owner; both ends read the peer process's token (the client's server check runs
/// and admits the current user); a client from another machine is refused. What Wine cannot show (a second account,
/// elevation, integrity levels) is listed in the README's Security section.
/// </summary>
[SupportedOSPlatform("windows")]
public partial class AccessTests
{
    private const uint ReadControl = 0x20000, OpenExisting = 3;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["SY"] = "S-1-5-18", ["LS"] = "S-1-5-19", ["NS"] = "S-1-5-20", ["BA"] = "S-1-5-32-544", ["BU"] = "S-1-5-32-545", ["WD"] = "S-1-1-0", ["AN"] = "S-1-5-7",
    };

    private static readonly Dictionary<string, uint> Rights = new(StringComparer.OrdinalIgnoreCase)
    {
        ["FA"] = 0x1f01ff, ["FR"] = 0x120089, ["FW"] = 0x120116, ["FX"] = 0x1200a0, ["GA"] = 0x10000000, ["GR"] = 0x80000000, ["GW"] = 0x40000000,
        ["RC"] = 0x20000, ["SD"] = 0x10000, ["WD"] = 0x40000, ["WO"] = 0x80000, ["CC"] = 0x1, ["DC"] = 0x2, ["LC"] = 0x4, ["SW"] = 0x8,
        ["RP"] = 0x10, ["WP"] = 0x20, ["DT"] = 0x40, ["LO"] = 0x80, ["CR"] = 0x100,
    };

    [Fact]
    public async Task The_pipes_DACL_holds_exactly_the_allowed_SIDs_plus_the_owner()
    {
        Require.Windows();
        string name = NewName();
        var access = PipeAccess.CurrentUser.AllowUser(PipeAccess.LocalSystem).AllowGroup(PipeAccess.Administrators).AllowUser(PipeAccess.Root);
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = new NPipesOptions { Access = access } });
        string self = CurrentUserSid();

        (string owner, List<(string Sid, uint Mask)> aces) = ReadBack(name);
        Assert.Equal(self, owner);
        Assert.Equal([(self, 0x12019fu), ("S-1-5-18", 0x12019bu), ("S-1-5-32-544", 0x12019bu)], aces); // "0" is a Unix uid: nobody here

        string open = NewName();
        await using PipeServer everyone = PipeServer.Listen(open, new PipeServerOptions { Connection = new NPipesOptions { CurrentUserOnly = false } });
        Assert.Equal([(self, 0x12019fu), ("S-1-1-0", 0x12019bu)], ReadBack(open).Aces);

        string mine = NewName();
        await using PipeServer private_ = PipeServer.Listen(mine);
        Assert.Equal([(self, 0x12019fu)], ReadBack(mine).Aces);
    }

    [Fact]
    public async Task Both_ends_read_the_peer_process_user_and_the_client_admits_a_server_of_the_current_user()
    {
        Require.Windows();
        string name = NewName();
        await using PipeServer server = PipeServer.Listen(name);
        Task<PipeConnection> accepting = server.AcceptAsync(Ct).AsTask();
        await using PipeConnection client = await Within(PipeConnection.ConnectAsync(name, new NPipesOptions { Timeout = Guard }, Ct));
        await using PipeConnection served = await Within(accepting);
        string self = CurrentUserSid();
        foreach (PeerIdentity peer in new[] { client.Peer, served.Peer })
        {
            Assert.Equal(Environment.ProcessId, peer.ProcessId);
            Assert.Equal(self, peer.Sid);
            Assert.Null(peer.UserId);
            Assert.Empty(peer.GroupIds);
            Assert.EndsWith("\\" + Environment.UserName, peer.UserName, StringComparison.OrdinalIgnoreCase);
        }
        await client.SendAsync("checked", Ct);
        Assert.Equal("checked", await Within(served.ReceiveTextAsync(Ct).AsTask()));
    }

    [Fact]
    public async Task A_name_that_does_not_exist_fails_before_the_pipe_is_created()
    {
        Require.Windows();
        string name = NewName();
        string missing = "npx" + Guid.NewGuid().ToString("N")[..12];
        var e = Assert.Throws<ArgumentException>(() => PipeServer.Listen(name, new PipeServerOptions { Connection = new NPipesOptions { Access = PipeAccess.CurrentUser.AllowUser(missing) } }));
        Assert.Contains(missing, e.Message);
        await using PipeServer after = PipeServer.Listen(name); // the name was never taken
    }

    [Fact]
    public async Task A_client_from_another_machine_is_refused()
    {
        Require.Windows();
        // Control: a plain pipe (no PIPE_REJECT_REMOTE_CLIENTS) reached through the network redirector (\\127.0.0.1\pipe\...),
        // which makes the client a remote one. Where that does not connect, this system cannot show the refusal.
        string control = NewName();
        IntPtr plain = Win32.CreateNamedPipe(@"\\.\pipe\" + control, 0x3, 0x6, 1, BufferSize, BufferSize, 0, IntPtr.Zero);
        Assert.True(plain != Win32.INVALID_HANDLE_VALUE);
        try
        {
            (bool controlConnected, int controlError) = OpenRemote(control);
            Assert.SkipUnless(controlConnected, $"A remote-path client cannot reach even a plain local pipe here (error {controlError}): this system cannot show PIPE_REJECT_REMOTE_CLIENTS (README, Security).");
        }
        finally
        {
            Win32.CloseHandle(plain);
        }
        string name = NewName();
        await using PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = new NPipesOptions { CurrentUserOnly = false } });
        (bool connected, int error) = OpenRemote(name);
        Assert.False(connected, "a remote client was connected to an NPipes server");
        Assert.NotEqual(0, error);
    }

    private static (bool Connected, int Error) OpenRemote(string name)
    {
        IntPtr handle = Win32.CreateFile(@"\\127.0.0.1\pipe\" + name, 0xC0000000, 0, IntPtr.Zero, OpenExisting, 0, IntPtr.Zero);
        int error = Marshal.GetLastWin32Error();
        if (handle == Win32.INVALID_HANDLE_VALUE)
        {
            return (false, error);
        }
        Win32.CloseHandle(handle);
        return (true, 0);
    }

    /// <summary>The owner and the ACEs (trustee SID, access mask) of the pipe's DACL, read from a handle opened with READ_CONTROL.</summary>
    private static (string Owner, List<(string Sid, uint Mask)> Aces) ReadBack(string name)
    {
        IntPtr handle = Win32.CreateFile(@"\\.\pipe\" + name, ReadControl, 0, IntPtr.Zero, OpenExisting, 0, IntPtr.Zero);
        Assert.True(handle != Win32.INVALID_HANDLE_VALUE, $"open with READ_CONTROL: error {Marshal.GetLastWin32Error()}");
        try
        {
            const int SeKernelObject = 6, OwnerAndDacl = 0x1 | 0x4;
            Assert.Equal(0u, GetSecurityInfo(handle, SeKernelObject, OwnerAndDacl, out _, out _, out _, out _, out IntPtr descriptor));
            Assert.True(ConvertSecurityDescriptorToStringSecurityDescriptorW(descriptor, 1, OwnerAndDacl, out IntPtr text, out _));
            string sddl = Marshal.PtrToStringUni(text)!;
            LocalFree(text);
            LocalFree(descriptor);
            string owner = Sid(OwnerPart().Match(sddl).Groups[1].Value);
            Assert.Contains("D:P", sddl); // protected: nothing inherited
            var aces = AcePart().Matches(sddl).Select(m => (Sid(m.Groups[3].Value), Mask(m.Groups[2].Value))).ToList();
            Assert.All(AcePart().Matches(sddl), m => Assert.Equal("A", m.Groups[1].Value));
            return (owner, aces);
        }
        finally
        {
            Win32.CloseHandle(handle);
        }
    }

    private static string Sid(string text) => Aliases.TryGetValue(text, out string? sid) ? sid : text;

    private static uint Mask(string text)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return Convert.ToUInt32(text[2..], 16);
        }
        uint mask = 0;
        for (int i = 0; i + 1 < text.Length; i += 2)
        {
            mask |= Rights[text.Substring(i, 2)];
        }
        return mask;
    }

    private static string CurrentUserSid()
    {
        using var identity = System.Security.Principal.WindowsIdentity.GetCurrent();
        return identity.User!.Value;
    }

    [GeneratedRegex(@"O:([^:]+?)(?=[DGS]:|$)")]
    private static partial Regex OwnerPart();

    [GeneratedRegex(@"\(([A-Z]+);[^;]*;([^;]*);[^;]*;[^;]*;([^;)]+)\)")]
    private static partial Regex AcePart();

    [DllImport("advapi32")]
    private static extern uint GetSecurityInfo(IntPtr handle, int objectType, int information, out IntPtr owner, out IntPtr group, out IntPtr dacl, out IntPtr sacl, out IntPtr descriptor);

    [DllImport("advapi32", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern bool ConvertSecurityDescriptorToStringSecurityDescriptorW(IntPtr descriptor, uint revision, int information, out IntPtr text, out int length);

    [DllImport("kernel32")]
    private static extern IntPtr LocalFree(IntPtr memory);
}
