using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>
/// What a Unity script does: the synchronous API on a thread whose SynchronizationContext runs posted work only when
/// that thread gets back to it (Unity's main thread runs it once per frame), and strict text on Mono's encoders.
/// </summary>
internal static class MainThreadChecks
{
    public static async Task RunAsync(CheckRunner runner, Peer python)
    {
        await runner.CheckAsync("Mono: the synchronous API on a thread with a single-threaded SynchronizationContext (Unity's main thread) does not deadlock", async ct =>
        {
            string name = Names.New();
            using PeerProcess echo = PeerProcess.Start(python.Cli("echo", name, "--crc", "--encoding", "utf-8"));
            using PeerProcess receiver = PeerProcess.Start(python.Cli("receive", name + "-in", "--crc", "--encoding", "utf-8", "--timeout", "30"));
            using PeerProcess sender = PeerProcess.Start(python.Cli("send", name + "-out", "from Python ☃", "--crc", "--encoding", "utf-8", "--timeout", "30"));
            var context = new FrameLoopContext();
            string received = await context.RunAsync(() =>
            {
                using (PipeConnection connection = PipeConnection.Connect(name, Options.Utf8Crc))
                {
                    for (int i = 0; i < 3; i++)
                    {
                        Expect.Equal("request ☃ " + i, connection.Request("request ☃ " + i), "the echo");
                    }
                }
                new Ipc(name + "-in", Options.Utf8Crc).SendMessage("from Mono ☃", crc: true);
                return new Ipc(name + "-out", Options.Utf8Crc).ReceiveMessage(crc: true);
            }, ct).ConfigureAwait(false);
            Expect.Equal("from Python ☃", received, "Ipc.ReceiveMessage");
            Expect.Equal("from Mono ☃\n", await receiver.SucceedAsync(ct).ConfigureAwait(false), "what `npipes receive` printed");
            await sender.SucceedAsync(ct).ConfigureAwait(false);
            await echo.TerminateAsync(ct).ConfigureAwait(false);
        }).ConfigureAwait(false);

        await runner.CheckAsync("Mono: text is strict on Mono's encoders (no '?' for non-ASCII; Latin-1 bytes are not UTF-8)", async ct =>
        {
            await Expect.ThrowsAsync<InvalidTextException>(() => Task.FromResult(FrameCodec.EncodeText("é", FrameOptions.Default)), "encoding 'é' as ASCII").ConfigureAwait(false);
            await Expect.ThrowsAsync<InvalidTextException>(() => Task.FromResult(FrameCodec.GetText([0x68, 0xE9], FrameOptions.Default)), "decoding 0xE9 as ASCII").ConfigureAwait(false);
            string name = Names.New();
            using PeerProcess sender = PeerProcess.Start(python.Cli("send", name, "café", "--encoding", "latin-1", "--timeout", "30"));
            await Expect.ThrowsAsync<InvalidTextException>(async () => await new Ipc(name, Options.Utf8).ReceiveMessageAsync(cancellationToken: ct).ConfigureAwait(false), "receiving Latin-1 'café' as UTF-8").ConfigureAwait(false);
            await sender.ExitAsync(ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    /// <summary>A thread that runs posted work only once its "frame" is over, like Unity's main thread.</summary>
    private sealed class FrameLoopContext : SynchronizationContext
    {
        private readonly ConcurrentQueue<(SendOrPostCallback, object?)> _posted = new();

        public override void Post(SendOrPostCallback d, object? state) => _posted.Enqueue((d, state));

        /// <summary>Runs <paramref name="frame"/> on a new thread that has this context, then what was posted to it. A
        /// library continuation posted here while the frame blocks would never run: a deadlock, reported when the token fires.</summary>
        public Task<T> RunAsync<T>(Func<T> frame, CancellationToken cancellationToken)
        {
            var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                SetSynchronizationContext(this);
                try
                {
                    result.TrySetResult(frame());
                }
                catch (Exception e)
                {
                    result.TrySetException(e);
                }
                while (_posted.TryDequeue(out (SendOrPostCallback Callback, object? State) work))
                {
                    work.Callback(work.State);
                }
            }) { IsBackground = true, Name = "frame loop" };
            thread.Start();
            cancellationToken.Register(() => result.TrySetException(new CheckFailedException("the synchronous calls did not return (deadlocked on the thread's SynchronizationContext?)")));
            return result.Task;
        }
    }
}
