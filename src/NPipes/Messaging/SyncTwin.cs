namespace NPipes.Messaging;

/// <summary>
/// The one way every public synchronous twin (<c>Send</c>, <c>Receive</c>, <c>Flush</c>, <c>Request</c>, <c>Connect</c>,
/// <c>SendMessage</c>, ...) waits for its asynchronous core. Connection I/O cores run with <c>sync: true</c>, so they do
/// blocking reads and writes on the calling thread and return an already completed task, which this unwraps. A core
/// that has no blocking form (connecting, meeting a peer) completes later; this blocks on it through a
/// <see cref="Task"/>, because a pooled <see cref="ValueTask"/> must not be waited on before it completes. Every await in
/// the library uses ConfigureAwait(false), so blocking here cannot deadlock on a synchronization context.
/// </summary>
internal static class SyncTwin
{
    public static void Wait(ValueTask task)
    {
        if (task.IsCompletedSuccessfully)
        {
            return;
        }
        task.AsTask().GetAwaiter().GetResult();
    }

    public static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

    public static void Wait(Task task) => task.GetAwaiter().GetResult();

    public static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();
}
