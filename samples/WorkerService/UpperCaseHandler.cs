using NPipes.Hosting;

namespace WorkerService;

/// <summary>Answers each request with its text upper-cased and numbered; made per request (a DI scope each).</summary>
public sealed class UpperCaseHandler(RequestCounter counter, ILogger<UpperCaseHandler> logger) : IPipeRequestHandler
{
    public ValueTask<string> HandleAsync(string request, CancellationToken cancellationToken)
    {
        long n = counter.Next();
        logger.LogInformation("Request {Number}: {Request}", n, request);
        return ValueTask.FromResult($"{n}: {request.ToUpperInvariant()}");
    }
}

/// <summary>A singleton the scoped handlers share.</summary>
public sealed class RequestCounter
{
    private long _count;

    public long Next() => Interlocked.Increment(ref _count);
}
