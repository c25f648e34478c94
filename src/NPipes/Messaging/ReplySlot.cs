namespace NPipes.Messaging;

/// <summary>
/// One request waiting for its reply. The frame carries no id, so replies are matched by position: the slot at the
/// head of the queue owns the next frame read. <see cref="Turn"/> completes when the slot reaches the head (it may then
/// read), or faults when the connection closes first.
/// </summary>
internal sealed class ReplySlot
{
    // Asynchronous continuations: the slot that finishes hands the turn on while holding no lock and without running
    // the next request's code on its own stack.
    private readonly TaskCompletionSource _turn = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Turn => _turn.Task;

    public void GiveTurn() => _turn.TrySetResult();

    public void Fail(Exception error) => _turn.TrySetException(error);
}
