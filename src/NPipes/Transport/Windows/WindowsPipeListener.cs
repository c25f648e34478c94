using System.IO.Pipes;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The Windows server: message-type pipe instances with real buffers, so npipes 1.0.1 (which reads one pipe message)
/// can read NPipes' frames. The first instance claims the name (FirstPipeInstance); as in Kestrel's transport, the next
/// instance is created before a connected one is handed off, so a client never finds the name missing. The DACL is the
/// gate (docs/access.md §3); each connected client's token is then read once and checked by the same rule.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed partial class WindowsPipeListener : PipeListener
{
    private readonly ListenOptions _options;
    private readonly WindowsAccessRule _access;
    private NamedPipeServerStream? _next;

    private WindowsPipeListener(string name, ListenOptions options, WindowsAccessRule access, NamedPipeServerStream first) : base(name)
    {
        _options = options;
        _access = access;
        _next = first;
    }

    /// <exception cref="ArgumentException">A named account of the access rule does not exist.</exception>
    public static WindowsPipeListener Listen(string name, ListenOptions options)
    {
        WindowsAccessRule access = WindowsAccessRule.Resolve(options.Access);
        return new(name, options, access, CreateInstance(name, options, access, first: true));
    }

    public override async ValueTask<Stream> AcceptAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            NamedPipeServerStream instance = _next ?? CreateInstance(Name, _options, _access, first: false);
            _next = null;
            try
            {
                await instance.WaitForConnectionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                instance.Dispose();
                throw;
            }
            if (_options.MaxInstances != 1)
            {
                _next = CreateInstance(Name, _options, _access, first: false);
            }
            (PeerIdentity peer, string[] groups) = WindowsAccessRule.ReadPeer(instance.SafePipeHandle, peerIsServer: false);
            // The DACL already decided; a token we can read that the rule does not admit (the DACL was changed under us)
            // is closed unread. A token we cannot read (a more privileged client) was admitted by the DACL.
            if (peer.Sid is not { } sid || _access.Admits(sid, groups))
            {
                return new WindowsPipeStream(instance, peer);
            }
            instance.Dispose();
            AccessRefused?.Invoke(peer);
            if (_options.MaxInstances == 1)
            {
                _next = CreateInstance(Name, _options, _access, first: false);
            }
        }
    }

    public override void Dispose()
    {
        _next?.Dispose();
        _next = null;
    }

    private static NamedPipeServerStream CreateInstance(string name, ListenOptions options, WindowsAccessRule access, bool first)
    {
        int maxInstances = options.MaxInstances > 0 ? options.MaxInstances : NamedPipeServerStream.MaxAllowedServerInstances;
        try
        {
            return CreateMessagePipe(name, options, access, first, maxInstances);
        }
        catch (UnauthorizedAccessException e) when (first)
        {
            // FirstPipeInstance fails with ACCESS_DENIED when the name exists.
            throw new PipeNameInUseException(name, e);
        }
        catch (IOException e) when (e.HResult == unchecked((int)0x800700E7))
        {
            // ERROR_PIPE_BUSY (231): all instances of an existing pipe are taken.
            throw new PipeNameInUseException(name, e);
        }
    }
}
