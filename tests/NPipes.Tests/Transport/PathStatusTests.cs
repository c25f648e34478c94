using System.Net.Sockets;
using System.Runtime.Versioning;
using NPipes.Transport;

namespace NPipes.Tests.Transport;

/// <summary>The pieces under the endpoint protocol: name rule §1 (lone surrogates), lstat classification §3, binding that .NET does not unlink.</summary>
[UnsupportedOSPlatform("windows")] // Unix-only calls sit behind Assert.SkipWhen(IsWindows)
public class PathStatusTests
{
    [Theory]
    [InlineData("a", 0xD800, "")]
    [InlineData("", 0xDC00, "b")]
    [InlineData("x", 0xDBFF, "")]
    public void A_name_with_a_lone_surrogate_is_refused_by_every_entry_point(string before, int surrogate, string after)
    {
        string name = before + (char)surrogate + after;
        var e = Assert.Throws<ArgumentException>(() => PipeNames.Validate(name));
        Assert.Contains("surrogate", e.Message);
        Assert.Throws<ArgumentException>(() => new Ipc(name));
        Assert.Throws<ArgumentException>(() => PipeServer.Listen(name));
    }

    [Fact]
    public void A_name_with_a_surrogate_pair_is_valid()
    {
        PipeNames.Validate("emoji\U0001F600name");
        Assert.Throws<ArgumentException>(() => PipeNames.Validate("pair reversed \uDE00\uD83D"));
    }

    [Theory]
    [MemberData(nameof(PlantedFileTests.Kinds), MemberType = typeof(PlantedFileTests))]
    public void Lstat_names_what_is_planted_without_following_or_opening_it(string what, string kind)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix files");
        string path = PipeNames.GetPath(TestPipes.NewName());
        using Planted planted = Planted.Make(what, path);
        string before = planted.Snapshot();

        PathStatus status = PathStatus.Of(path);
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(kind, status.KindName);
            Assert.NotNull(status.Id);
            Assert.Equal(UnixSockets.CurrentUid, status.Uid);
        }
        Assert.False(status.MaybeSocket);

        // The portable fallback (used where no native layout is verified) sees links and directories, and calls the rest unclassified.
        PathStatus portable = PathStatus.OfPortable(path);
        string expected = kind is "symbolic link" or "directory" ? kind : "file";
        Assert.Equal(expected, portable.KindName);
        Assert.Null(portable.Id);
        Assert.Equal(before, planted.Snapshot());
    }

    [Fact]
    public void Lstat_sees_a_socket_and_nothing()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix files");
        string path = PipeNames.GetPath(TestPipes.NewName());
        Assert.True(PathStatus.Of(path).IsMissing);
        Assert.True(PathStatus.OfPortable(path).IsMissing);
        StaleSocket.Make(path);
        try
        {
            Assert.Equal(OperatingSystem.IsLinux() ? PathKind.Socket : PathKind.Unclassified, PathStatus.Of(path).Kind);
            Assert.True(PathStatus.Of(path).MaybeSocket);
            Assert.Equal(PathKind.Unclassified, PathStatus.OfPortable(path).Kind);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_socket_bound_through_an_unowned_endpoint_leaves_its_file_to_the_protocol()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix socket files");
        string path = PipeNames.GetPath(TestPipes.NewName());
        using (Socket plain = UnixSockets.CreateSocket())
        {
            plain.Bind(new UnixDomainSocketEndPoint(path));
        }
        Assert.False(File.Exists(path)); // what .NET does by itself: unlink the bound path on dispose, whatever is there

        using (Socket unowned = UnixSockets.CreateSocket())
        {
            unowned.Bind(new UnownedUnixEndPoint(path));
            unowned.Listen(1);
        }
        Assert.True(PathStatus.Of(path).MaybeSocket);
        File.Delete(path);
    }
}
