using System.ComponentModel;
using System.IO.Pipes;
using Microsoft.Win32.SafeHandles;

namespace NPipes.Transport;

/// <summary>
/// The netstandard2.0 build's pipe instances. Its <see cref="PipeOptions"/> has neither FirstPipeInstance nor
/// CurrentUserOnly, and its <see cref="NamedPipeServerStream"/> takes no PipeSecurity (that is the
/// System.IO.Pipes.AccessControl package), so the instance is made with CreateNamedPipe, as .NET makes it, and handed
/// to <see cref="NamedPipeServerStream"/> as a handle. Current-user-only is a DACL that lets this process's user
/// alone read, write and create instances, nobody else (<see cref="WindowsSecurity.CurrentUserOnlyDescriptor"/>).
/// </summary>
internal sealed partial class WindowsPipeListener
{
    private static partial NamedPipeServerStream CreateMessagePipe(string name, ListenOptions options, bool first, int maxInstances)
    {
        const uint PipeAccessDuplex = 0x3, FileFlagFirstPipeInstance = 0x0008_0000, FileFlagOverlapped = 0x4000_0000;
        const uint PipeTypeMessage = 0x4, PipeReadModeMessage = 0x2, PipeUnlimitedInstances = 255;
        // As .NET: a pipe of one instance is always the first one.
        uint openMode = PipeAccessDuplex | FileFlagOverlapped | (first || maxInstances == 1 ? FileFlagFirstPipeInstance : 0);
        uint pipeMode = PipeTypeMessage | PipeReadModeMessage;
        uint instances = maxInstances == NamedPipeServerStream.MaxAllowedServerInstances ? PipeUnlimitedInstances : (uint)maxInstances;
        using WindowsSecurity.Descriptor security = options.CurrentUserOnly ? WindowsSecurity.CurrentUserOnlyDescriptor() : default;
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
