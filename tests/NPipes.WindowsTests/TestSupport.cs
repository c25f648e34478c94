using System.IO.Pipes;

// One test at a time: pipe tests block threads, the machine has 2 cores, and Wine is happier serialised.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]

namespace NPipes.WindowsTests;

/// <summary>Shared helpers for the pipe tests. No sleeps: every wait is on an event or a task.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("windows")]
public static class Pipes
{
    /// <summary>Buffer size npipes uses for both directions (and what Wine needs to not keep writes pending).</summary>
    public const int BufferSize = 65536;

    /// <summary>Safety net only (a hang becomes a failure instead of a stuck lane); never a timing assertion.</summary>
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    public const int ConnectGuardMs = 10_000;

    /// <summary>A fresh random pipe name per test.</summary>
    public static string NewName() => "npipes-wt-" + Guid.NewGuid().ToString("N");

    public static NamedPipeServerStream Server(string name, int maxInstances = 1, PipeOptions options = PipeOptions.None) =>
        new(name, PipeDirection.InOut, maxInstances, PipeTransmissionMode.Message, options, BufferSize, BufferSize);

    public static NamedPipeClientStream Client(string name) =>
        new(".", name, PipeDirection.InOut, PipeOptions.None);

    /// <summary>Connects (waiting for the pipe to appear, up to the guard) and switches to message read mode.</summary>
    public static void ConnectMessageMode(NamedPipeClientStream client)
    {
        HangTrace.Step("client: Connect");
        client.Connect(ConnectGuardMs);
        HangTrace.Step("client: set ReadMode");
        client.ReadMode = PipeTransmissionMode.Message;
        HangTrace.Step("client: message mode");
    }

    /// <summary>Reads ONE pipe message (until IsMessageComplete), in reads of at most 65536 bytes.</summary>
    public static byte[] ReadMessage(PipeStream pipe)
    {
        using var ms = new MemoryStream();
        var buffer = new byte[BufferSize];
        do
        {
            HangTrace.Step("Read");
            int n = pipe.Read(buffer, 0, buffer.Length);
            HangTrace.Step($"read {n}, complete={pipe.IsMessageComplete}");
            if (n == 0)
                break; // other end closed
            ms.Write(buffer, 0, n);
        } while (!pipe.IsMessageComplete);
        return ms.ToArray();
    }

    /// <summary>Reads one whole frame that may span several pipe messages; returns the frame and the message count.</summary>
    public static (byte[] Frame, int Messages) ReadFrameAcrossMessages(PipeStream pipe, bool bigEndian)
    {
        using var ms = new MemoryStream();
        long total = -1;
        int messages = 0;
        while (total < 0 || ms.Length < total)
        {
            byte[] message = ReadMessage(pipe);
            if (message.Length == 0)
                throw new EndOfStreamException($"pipe closed after {ms.Length} bytes of a {total}-byte frame");
            messages++;
            ms.Write(message);
            if (total < 0 && ms.Length >= 4)
                total = Frame.TotalLength(ms.GetBuffer().AsSpan(0, 4), bigEndian);
        }
        Assert.Equal(total, ms.Length); // no bytes beyond the frame
        return (ms.ToArray(), messages);
    }

    /// <summary>Writes a frame as pipe messages of at most <paramref name="chunk"/> bytes each; returns the message count.</summary>
    public static int WriteFrameInMessages(PipeStream pipe, byte[] frame, int chunk = BufferSize)
    {
        int messages = 0;
        for (int off = 0; off < frame.Length; off += chunk)
        {
            pipe.Write(frame, off, Math.Min(chunk, frame.Length - off));
            messages++;
        }
        pipe.Flush();
        return messages;
    }

    /// <summary>Runs blocking pipe code on its own thread.</summary>
    public static Task<T> OnThread<T>(Func<T> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    public static Task OnThread(Action work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Awaits a task under the safety guard.</summary>
    public static async Task<T> Within<T>(Task<T> task, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(task))] string? what = null)
    {
        HangTrace.Step("await " + what);
        try { return await task.WaitAsync(Guard, TestContext.Current.CancellationToken); }
        finally { HangTrace.Step($"awaited {what}: {task.Status}"); }
    }

    public static async Task Within(Task task, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(task))] string? what = null)
    {
        HangTrace.Step("await " + what);
        try { await task.WaitAsync(Guard, TestContext.Current.CancellationToken); }
        finally { HangTrace.Step($"awaited {what}: {task.Status}"); }
    }

    /// <summary>Waits for an event under the safety guard.</summary>
    public static void Wait(ManualResetEventSlim e, string what)
    {
        if (!e.Wait(Guard, TestContext.Current.CancellationToken))
            throw new TimeoutException($"guard expired waiting for: {what}");
    }

    /// <summary>Deterministic payload of n bytes (printable ASCII, so it is also valid npipes text).</summary>
    public static byte[] Payload(int n, int seed = 1)
    {
        var b = new byte[n];
        var rng = new Random(seed);
        for (int i = 0; i < n; i++)
            b[i] = (byte)rng.Next(0x20, 0x7F);
        return b;
    }
}
