using System.Net.Sockets;
using NPipes.Transport;

namespace NPipes.Tests.Transport;

public class NameAndOwnershipTests
{
    [Theory]
    [InlineData("", "empty")]
    [InlineData("a/b", "separator")]
    [InlineData("../x", "separator")]
    [InlineData("/tmp/x", "separator")]
    [InlineData("a\\b", "separator")]
    [InlineData("a\0b", "NUL")]
    [InlineData("..", "not a pipe name")]
    [InlineData("anonymous", "reserved")]
    public void Bad_names_get_a_clear_ArgumentException(string name, string says)
    {
        var e = Assert.Throws<ArgumentException>(() => PipeNames.Validate(name));
        Assert.Contains(says, e.Message);
        Assert.Throws<ArgumentException>(() => new Ipc(name));
    }

    [Fact]
    public void A_name_too_long_for_a_Unix_socket_path_names_the_limit_and_touches_no_file()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket path limit");
        string name = new('n', 200);
        var e = Assert.Throws<ArgumentException>(() => PipeNames.Validate(name));
        Assert.Contains("at most 107 bytes", e.Message);
        Assert.Throws<ArgumentException>(() => PipeListener.Create(name, new ListenOptions(true, 65536, -1)));
        Assert.False(File.Exists(Path.GetTempPath() + "CoreFxPipe_" + name));
    }

    [Fact]
    public void The_longest_allowed_name_works_and_one_more_byte_is_refused()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket path limit");
        int room = 107 - (Path.GetTempPath() + "CoreFxPipe_").Length;
        string longest = "L" + Guid.NewGuid().ToString("N") + new string('x', room - 33);
        using (PipeListener.Create(longest, new ListenOptions(true, 65536, -1)))
        {
            Assert.True(File.Exists(PipeNames.GetPath(longest)));
        }
        Assert.Throws<ArgumentException>(() => PipeNames.Validate(longest + "x"));
    }

    [Fact]
    public void A_second_server_on_a_held_name_is_refused_and_the_first_keeps_it()
    {
        string name = TestPipes.NewName();
        using var first = PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        var e = Assert.Throws<PipeNameInUseException>(() => PipeListener.Create(name, new ListenOptions(true, 65536, -1)));
        Assert.Equal(name, e.PipeName);
        Assert.Contains("will not take it over", e.Message);
        Assert.True(File.Exists(PipeNames.GetPath(name)) || OperatingSystem.IsWindows());
    }

    [Fact]
    public async Task The_first_server_still_serves_after_a_second_was_refused()
    {
        string name = TestPipes.NewName();
        using var first = PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        Assert.Throws<PipeNameInUseException>(() => PipeListener.Create(name, new ListenOptions(true, 65536, -1)));
        await EndpointTests.AssertServesAsync(first, name); // skips the refused server's liveness probe, if any
    }

    [Fact]
    public void A_socket_file_left_by_a_dead_server_is_reclaimed()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket files");
        string name = TestPipes.NewName();
        string path = PipeNames.GetPath(name);
        StaleSocket.Make(path);
        using var listener = PipeListener.Create(name, new ListenOptions(true, 65536, -1));
        Assert.True(UnixSocketsProbe.IsListening(path));
    }

    [Fact]
    public void A_regular_file_at_the_socket_path_is_never_deleted()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket files");
        string name = TestPipes.NewName();
        string path = PipeNames.GetPath(name);
        File.WriteAllText(path, "precious");
        try
        {
            var e = Assert.ThrowsAny<NPipesException>(() => PipeListener.Create(name, new ListenOptions(true, 65536, -1)));
            Assert.Contains("not a socket", e.Message);
            Assert.Equal("precious", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_socket_file_is_current_user_only_by_default_and_open_with_the_opt_out()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix file modes");
            return;
        }
        string mine = TestPipes.NewName();
        using (PipeListener.Create(mine, new ListenOptions(currentUserOnly: true, 65536, -1)))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(PipeNames.GetPath(mine)));
        }
        string open = TestPipes.NewName();
        using (PipeListener.Create(open, new ListenOptions(currentUserOnly: false, 65536, -1)))
        {
            Assert.True(File.GetUnixFileMode(PipeNames.GetPath(open)).HasFlag(UnixFileMode.OtherWrite));
        }
    }

    [Fact]
    public void Disposing_the_server_removes_its_socket_file()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket files");
        string name = TestPipes.NewName();
        PipeListener.Create(name, new ListenOptions(true, 65536, -1)).Dispose();
        Assert.False(File.Exists(PipeNames.GetPath(name)));
    }
}
