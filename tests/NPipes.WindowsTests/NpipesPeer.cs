using System.ComponentModel;
using System.Runtime.InteropServices;
using static NPipes.WindowsTests.Win32;

namespace NPipes.WindowsTests;

/// <summary>What one <see cref="NpipesPeer.Receive"/> got.</summary>
/// <param name="Data">The bytes of the ONE ReadFile (at most 65536), possibly empty.</param>
/// <param name="ReadError">0 when ReadFile succeeded, else its GetLastError (e.g. 234 ERROR_MORE_DATA, 109 ERROR_BROKEN_PIPE).</param>
/// <param name="CreatedPipe">True if the receiver created the pipe (and called ConnectNamedPipe); false if it got
/// error 231 and connected as a client with CreateFile + SetNamedPipeHandleState.</param>
public sealed record PeerReceipt(byte[] Data, int ReadError, bool CreatedPipe);

/// <summary>
/// A test peer that makes EXACTLY the kernel32 calls that the Python package npipes 1.0.1 makes on Windows
/// (npipes/pipes.py through pywin32), in the same order, with the same arguments:
/// <list type="bullet">
/// <item>send: CreateNamedPipe(\\.\pipe\N, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
///   1, 65536, 65536, 0, NULL); ConnectNamedPipe (535 ERROR_PIPE_CONNECTED counts as connected);
///   ONE WriteFile of the whole frame; CloseHandle. No FlushFileBuffers, no DisconnectNamedPipe.</item>
/// <item>receive: the same CreateNamedPipe; if it fails with 231 ERROR_PIPE_BUSY, instead
///   CreateFile(GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL) and
///   SetNamedPipeHandleState(PIPE_READMODE_MESSAGE); if it created the pipe, ConnectNamedPipe.
///   Then ONE ReadFile of at most 65536 bytes; CloseHandle.</item>
/// </list>
/// Unlike npipes (which prints and swallows every error), failures of CreateNamedPipe / ConnectNamedPipe /
/// CreateFile / WriteFile throw <see cref="Win32Exception"/> so tests can see them; a failing ReadFile is
/// reported in <see cref="PeerReceipt.ReadError"/> with whatever bytes it delivered.
/// Blocking calls: run each role on its own thread (<see cref="SendAsync"/>, <see cref="ReceiveAsync"/>).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("windows")]
public static class NpipesPeer
{
    public const uint BufferSize = 65536;

    public static string PipePath(string name) => @"\\.\pipe\" + name;

    /// <summary>npipes' send_message: create, wait for the client, one write, close.</summary>
    /// <param name="onCreated">Called right after CreateNamedPipe succeeded (before ConnectNamedPipe blocks).</param>
    /// <param name="beforeWrite">Called after ConnectNamedPipe, before WriteFile: lets a test hold the peer until
    /// its other end is ready (e.g. has set message read mode). Makes no kernel32 call of its own.</param>
    /// <returns>The number of bytes WriteFile reported written.</returns>
    public static unsafe int Send(string name, byte[] frame, Action? onCreated = null, Action? beforeWrite = null)
    {
        HangTrace.Step("send: CreateNamedPipe");
        IntPtr h = CreateNpipesPipe(name);
        if (h == INVALID_HANDLE_VALUE)
            throw new Win32Exception(Marshal.GetLastPInvokeError(), $"CreateNamedPipe({PipePath(name)})");
        try
        {
            onCreated?.Invoke();
            HangTrace.Step("send: ConnectNamedPipe");
            Connect(h);
            HangTrace.Step("send: connected");
            beforeWrite?.Invoke();
            HangTrace.Step("send: WriteFile");
            uint written;
            bool ok;
            fixed (byte* p = frame)
                ok = WriteFile(h, p, (uint)frame.Length, out written, IntPtr.Zero);
            if (!ok)
                throw new Win32Exception(Marshal.GetLastPInvokeError(), "WriteFile");
            HangTrace.Step($"send: wrote {written}");
            return (int)written;
        }
        finally
        {
            CloseHandle(h); // npipes just closes: no FlushFileBuffers, no DisconnectNamedPipe
            HangTrace.Step("send: closed");
        }
    }

    /// <summary>npipes' receive_message: create (or, on 231, open as client in message read mode), one read, close.</summary>
    /// <param name="onReady">Called once the handle exists (created, or opened as a client), before any blocking wait.</param>
    public static unsafe PeerReceipt Receive(string name, Action<bool>? onReady = null)
    {
        bool created = true;
        HangTrace.Step("receive: CreateNamedPipe");
        IntPtr h = CreateNpipesPipe(name);
        if (h == INVALID_HANDLE_VALUE)
        {
            int err = Marshal.GetLastPInvokeError();
            if (err != ERROR_PIPE_BUSY)
                throw new Win32Exception(err, $"CreateNamedPipe({PipePath(name)})");
            created = false;
            HangTrace.Step("receive: 231, CreateFile");
            h = CreateFile(PipePath(name), GENERIC_READ | GENERIC_WRITE, 0, IntPtr.Zero, OPEN_EXISTING, 0, IntPtr.Zero);
            if (h == INVALID_HANDLE_VALUE)
                throw new Win32Exception(Marshal.GetLastPInvokeError(), $"CreateFile({PipePath(name)})");
        }
        try
        {
            if (!created)
            {
                uint mode = PIPE_READMODE_MESSAGE;
                if (!SetNamedPipeHandleState(h, ref mode, IntPtr.Zero, IntPtr.Zero))
                    throw new Win32Exception(Marshal.GetLastPInvokeError(), "SetNamedPipeHandleState");
            }
            onReady?.Invoke(created);
            if (created)
            {
                HangTrace.Step("receive: ConnectNamedPipe");
                Connect(h);
            }
            HangTrace.Step("receive: ReadFile");
            var buffer = new byte[BufferSize];
            uint read;
            bool ok;
            fixed (byte* p = buffer)
                ok = ReadFile(h, p, BufferSize, out read, IntPtr.Zero);
            int readError = ok ? 0 : Marshal.GetLastPInvokeError();
            HangTrace.Step($"receive: read {read}, error {readError}");
            return new PeerReceipt(buffer.AsSpan(0, (int)read).ToArray(), readError, created);
        }
        finally
        {
            CloseHandle(h);
            HangTrace.Step("receive: closed");
        }
    }

    /// <summary>
    /// <see cref="Send"/> on a dedicated thread. <paramref name="created"/> is set once the pipe exists; if
    /// <paramref name="writeGate"/> is given, the peer waits for it (after connecting) before its WriteFile.
    /// </summary>
    public static Task<int> SendAsync(string name, byte[] frame, ManualResetEventSlim? created = null,
        ManualResetEventSlim? writeGate = null) =>
        Task.Factory.StartNew(() => Send(name, frame, () => created?.Set(), () =>
            {
                if (writeGate is not null && !writeGate.Wait(Pipes.Guard))
                    throw new TimeoutException("guard expired waiting for the write gate");
            }),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary><see cref="Receive"/> on a dedicated thread. <paramref name="ready"/> is set once the handle exists.</summary>
    public static Task<PeerReceipt> ReceiveAsync(string name, ManualResetEventSlim? ready = null) =>
        Task.Factory.StartNew(() => Receive(name, _ => ready?.Set()),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static IntPtr CreateNpipesPipe(string name) =>
        CreateNamedPipe(PipePath(name), PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
            1, BufferSize, BufferSize, 0, IntPtr.Zero);

    private static void Connect(IntPtr h)
    {
        if (!ConnectNamedPipe(h, IntPtr.Zero))
        {
            int err = Marshal.GetLastPInvokeError();
            if (err != ERROR_PIPE_CONNECTED)
                throw new Win32Exception(err, "ConnectNamedPipe");
        }
    }
}
