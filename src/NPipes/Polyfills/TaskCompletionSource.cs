using Microsoft.CodeAnalysis;

namespace System.Threading.Tasks;

/// <summary>.NET 5's non-generic <c>TaskCompletionSource</c> for netstandard2.0, over <see cref="TaskCompletionSource{TResult}"/>.</summary>
[Embedded]
internal sealed class TaskCompletionSource(TaskCreationOptions creationOptions)
{
    private readonly TaskCompletionSource<bool> _inner = new(creationOptions);

    public TaskCompletionSource() : this(TaskCreationOptions.None)
    {
    }

    public Task Task => _inner.Task;

    public void SetResult() => _inner.SetResult(true);

    public bool TrySetResult() => _inner.TrySetResult(true);

    public void SetException(Exception exception) => _inner.SetException(exception);

    public bool TrySetException(Exception exception) => _inner.TrySetException(exception);

    public void SetCanceled() => _inner.SetCanceled();

    public bool TrySetCanceled() => _inner.TrySetCanceled();

    public bool TrySetCanceled(CancellationToken cancellationToken) => _inner.TrySetCanceled(cancellationToken);
}
