using System.ComponentModel;
using System.IO.Pipes;
using Microsoft.Win32.SafeHandles;

namespace NPipes.Transport;

/// <summary>
/// Pipe instances, the same in both builds: made with CreateNamedPipe, as .NET makes them, and handed to
/// <see cref="NamedPipeServerStream"/> as a handle, so that both carry NPipes' own security descriptor
/// (<see cref="WindowsSecurity"/>: exactly the admitted SIDs plus the owner; netstandard2.0 has no way to pass a
/// PipeSecurity, and net10.0's <c>PipeOptions.CurrentUserOnly</c> also checks elevation) and PIPE_REJECT_REMOTE_CLIENTS
/// (no client from another machine is ever connected, whatever the DACL says).
/// </summary>
internal sealed partial class WindowsPipeListener
{
    /// <summary>PIPE_REJECT_REMOTE_CLIENTS: every instance refuses connections from other machines.</summary>
    internal const uint PipeRejectRemoteClients = 0x8;

    private static NamedPipeServerStream CreateMessagePipe(string name, ListenOptions options, WindowsAccessRule access, bool first, int maxInstances)
    {
        const uint PipeAccessDuplex = 0x3, FileFlagFirstPipeInstance = 0x0008_0000, FileFlagOverlapped = 0x4000_0000;
        const uint PipeTypeMessage = 0x4, PipeReadModeMessage = 0x2, PipeUnlimitedInstances = 255;
        // As .NET: a pipe of one instance is always the first one.
        uint openMode = PipeAccessDuplex | FileFlagOverlapped | (first || maxInstances == 1 ? FileFlagFirstPipeInstance : 0);
        uint pipeMode = PipeTypeMessage | PipeReadModeMessage | PipeRejectRemoteClients;
        uint instances = maxInstances == NamedPipeServerStream.MaxAllowedServerInstances ? PipeUnlimitedInstances : (uint)maxInstances;
        using WindowsSecurity.Descriptor security = WindowsSecurity.DescriptorFor(access);
        SafePipeHandle handle = WindowsSecurity.CreateNamedPipe(@"\\.\pipe\" + name, openMode, pipeMode, instances,
            (uint)options.BufferSize, (uint)options.BufferSize, 0, security.Attributes);
        if (handle.IsInvalid)
        {
            int error = System.Runtime.InteropServices.Marshal.GetLastWin32Error();
            handle.Dispose();
            string message = $"Cannot create pipe '{name}': {new Win32Exception(error).Message}";
            throw error == 5 // ERROR_ACCESS_DENIED
                ? new UnauthorizedAccessException(message)
                : new IOException(message, unchecked((int)0x80070000) | error);
        }
        try
        {
            return new NamedPipeServerStream(PipeDirection.InOut, isAsync: true, isConnected: false, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
