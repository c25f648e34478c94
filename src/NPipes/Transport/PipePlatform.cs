using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The one place the platform is chosen. Everything above asks this for servers, clients and rendezvous and never
/// which OS it runs on: Unix sockets with the endpoint protocol (docs/unix-endpoint.md), or Windows named pipes.
/// </summary>
internal abstract class PipePlatform
{
    /// <summary>The platform this process runs on.</summary>
    public static PipePlatform Current { get; } = OperatingSystem.IsWindows() ? new WindowsPlatform() : new UnixPlatform();

    /// <summary>Creates a server holding <paramref name="name"/>.</summary>
    public abstract PipeListener Listen(string name, ListenOptions options);

    /// <summary>Connects to the server on <paramref name="name"/>, waiting for one until the deadline.</summary>
    public abstract ValueTask<Stream> ConnectAsync(string name, PipeAccess trusted, Deadline deadline, CancellationToken cancellationToken);

    /// <summary>Meets the other side, whichever starts first; the listener when this side became the server.</summary>
    public abstract ValueTask<(Stream Stream, PipeListener? Listener)> MeetAsync(string name, ListenOptions options, bool receiver, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="peer"/> runs as this process's OS user (its uid on Unix, its SID on Windows).</summary>
    public abstract bool IsCurrentUser(PeerIdentity peer);

    [UnsupportedOSPlatform("windows")]
    private sealed class UnixPlatform : PipePlatform
    {
        public override PipeListener Listen(string name, ListenOptions options) => UnixNameClaim.Listen(name, options);

        public override ValueTask<Stream> ConnectAsync(string name, PipeAccess trusted, Deadline deadline, CancellationToken cancellationToken) =>
            UnixPipeConnector.ConnectAsync(name, trusted, deadline, cancellationToken);

        // The order of arrival does not matter on Unix: a receiver may create the pipe as well as a sender.
        public override ValueTask<(Stream Stream, PipeListener? Listener)> MeetAsync(string name, ListenOptions options, bool receiver, CancellationToken cancellationToken) =>
            UnixRendezvous.MeetAsync(name, options, cancellationToken);

        public override bool IsCurrentUser(PeerIdentity peer) => peer.UserId is long uid && uid == UnixSockets.CurrentUid;
    }

    [SupportedOSPlatform("windows")]
    private sealed class WindowsPlatform : PipePlatform
    {
        public override PipeListener Listen(string name, ListenOptions options) => WindowsPipeListener.Listen(name, options);

        public override ValueTask<Stream> ConnectAsync(string name, PipeAccess trusted, Deadline deadline, CancellationToken cancellationToken) =>
            WindowsPipeConnector.ConnectAsync(name, trusted, deadline, cancellationToken);

        public override ValueTask<(Stream Stream, PipeListener? Listener)> MeetAsync(string name, ListenOptions options, bool receiver, CancellationToken cancellationToken) =>
            WindowsRendezvous.MeetAsync(name, options, receiver, cancellationToken);

        public override bool IsCurrentUser(PeerIdentity peer) =>
            peer.Sid is string sid && string.Equals(sid, WindowsTokens.CurrentUserSid(), StringComparison.OrdinalIgnoreCase);
    }
}
