using System.IO.Pipes;

namespace NPipes.Transport;

/// <summary>The net10.0 build's pipe instances: .NET's own <see cref="PipeOptions.CurrentUserOnly"/> ACL.</summary>
internal sealed partial class WindowsPipeListener
{
    private static partial NamedPipeServerStream CreateMessagePipe(string name, ListenOptions options, bool first, int maxInstances)
    {
        PipeOptions pipeOptions = PipeOptions.Asynchronous
            | (first ? PipeOptions.FirstPipeInstance : PipeOptions.None)
            | (options.CurrentUserOnly ? PipeOptions.CurrentUserOnly : PipeOptions.None);
        return new NamedPipeServerStream(name, PipeDirection.InOut, maxInstances, PipeTransmissionMode.Message,
            pipeOptions, options.BufferSize, options.BufferSize);
    }
}
