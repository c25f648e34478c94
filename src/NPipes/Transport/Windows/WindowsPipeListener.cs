using System.IO.Pipes;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The Windows server: message-type pipe instances with real buffers, so npipes 1.0.1 (which reads one pipe message)
/// can read NPipes' frames. The first instance claims the name (FirstPipeInstance); as in Kestrel's transport, the next
/// instance is created before a connected one is handed off, so a client never finds the name missing.
/// </summary>
[SupportedOSPlatform("windows")]
internal sealed partial class WindowsPipeListener : PipeListener
{
    private readonly ListenOptions _options;
    private NamedPipeServerStream? _next;

    private WindowsPipeListener(string name, ListenOptions options, NamedPipeServerStream first) : base(name)
    {
        _options = options;
        _next = first;
    }

    public static WindowsPipeListener Listen(string name, ListenOptions options) =>
        new(name, options, CreateInstance(name, options, first: true));

    public override async ValueTask<Stream> AcceptAsync(CancellationToken cancellationToken)
    {
        NamedPipeServerStream instance = _next ?? CreateInstance(Name, _options, first: false);
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
            _next = CreateInstance(Name, _options, first: false);
        }
        return new WindowsPipeStream(instance);
    }

    public override void Dispose()
    {
        _next?.Dispose();
        _next = null;
    }

    private static NamedPipeServerStream CreateInstance(string name, ListenOptions options, bool first)
    {
        int maxInstances = options.MaxInstances > 0 ? options.MaxInstances : NamedPipeServerStream.MaxAllowedServerInstances;
        try
        {
            return CreateMessagePipe(name, options, first, maxInstances);
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

    /// <summary>
    /// One message-mode, overlapped instance of <paramref name="name"/> with in and out buffers of
    /// <see cref="ListenOptions.BufferSize"/>; with <see cref="ListenOptions.CurrentUserOnly"/> its ACL admits this user
    /// alone. With <paramref name="first"/> it fails if the name exists (FILE_FLAG_FIRST_PIPE_INSTANCE).
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">ERROR_ACCESS_DENIED (the name exists and <paramref name="first"/>, or another user's ACL).</exception>
    /// <exception cref="IOException">Any other failure; ERROR_PIPE_BUSY has HResult 0x800700E7.</exception>
    private static partial NamedPipeServerStream CreateMessagePipe(string name, ListenOptions options, bool first, int maxInstances);
}
