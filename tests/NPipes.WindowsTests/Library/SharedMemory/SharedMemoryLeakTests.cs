using System.Runtime.Versioning;
using static NPipes.WindowsTests.Library.SharedMemory.SectionPeer;
using static NPipes.WindowsTests.Pipes;

namespace NPipes.WindowsTests.Library.SharedMemory;

/// <summary>
/// No handle is left behind (docs/shared-memory.md §9 What each side holds): the sender's section handle closes with
/// the connection, the receiver keeps none, and a refusal at any step closes what it opened.
/// </summary>
[SupportedOSPlatform("windows")]
public class SharedMemoryLeakTests
{
    private const int Rounds = 12;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_process_holds_no_more_handles_after_connections_with_shared_memory_and_refusals()
    {
        Require.Windows();
        // The section and process handles of this process, from the system's handle table (Wine 8.0's
        // GetProcessHandleCount always says 0, and a count of every handle moves with the thread pool: threads and their
        // events come and go under load, which once failed this test with no leak). The types are learnt from probes.
        nint section = Section(Control + 4096), process = Duplicate(-1); // -1: this process's pseudo-handle
        int sectionType = TypeOf(section), processType = TypeOf(process);
        int Count() => ListedHandles()!.Count(h => h.Type == sectionType || h.Type == processType);
        Assert.True(sectionType >= 0 && processType >= 0, $"the handle table lists no type for a section ({sectionType}) or a process ({processType})");
        int withProbes = Count();
        Close(section);
        Close(process);
        Assert.Equal(withProbes - 2, Count()); // the counter sees the two probes go

        await RoundAsync(); // warm-up: pools, threads and handles the runtime opens once
        int baseline = Settled(Count);
        for (int i = 0; i < Rounds; i++)
        {
            await RoundAsync();
        }
        int after = Settled(Count);
        TestContext.Current.TestOutputHelper?.WriteLine($"section and process handles: {baseline} after the warm-up, {after} after {Rounds} more rounds");
        // Each round opens and closes two rings (a section on each sender, one duplicated by each receiver, a process
        // handle per attach) and five refused attaches: a leak of any of them is at least one handle a round.
        Assert.True(after - baseline < Rounds, $"{after - baseline} section or process handles more after {Rounds} rounds ({baseline} -> {after})");
    }

    /// <summary>The count once the runtime's own finalizable handles (disposed pipes, wait handles) are collected, so they neither hide nor fake a leak.</summary>
    private static int Settled(Func<int> count)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return count();
    }

    /// <summary>A connection with both rings attached, closed; then a refusal at each step.</summary>
    private static async Task RoundAsync()
    {
        (PipeServer server, PipeConnection a, PipeConnection b) = await SharedMemoryTests.PairAsync(SharedMemoryTests.Shm());
        await using (server)
        await using (a)
        await using (b)
        {
            byte[] payload = Payload(5000);
            await Within(a.SendAsync(payload, Ct).AsTask());
            using (PipeMessage? got = await Within(b.ReceiveAsync(Ct).AsTask()))
            {
                await Within(b.SendAsync(got!.Payload, Ct).AsTask());
            }
            using PipeMessage? back = await Within(a.ReceiveAsync(Ct).AsTask());
            Assert.Equal(payload, back!.ToArray());
        }
        const long size = Control + SharedMemoryTests.Ring;
        await SharedMemoryAttackTests.RefusedAttachAsync("(step 1", Section(size), size + 1);
        await SharedMemoryAttackTests.RefusedAsync("(step 2", 0, SharedMemoryAttackTests.Attach(0x00FF_FFF0));
        await SharedMemoryAttackTests.RefusedAttachAsync("(step 3, querying", Event());
        await SharedMemoryAttackTests.RefusedAttachAsync("(step 3, the section's kind", Section(size, SecReserve));
        await SharedMemoryAttackTests.RefusedAttachAsync("(step 3, the section's size", Section(size + 4096));
    }
}
