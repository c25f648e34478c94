namespace NPipes.Tests.Hostile;

/// <summary>
/// The server side the fault, load and stress scenarios share: answer every request with its own payload until the
/// peer closes or the server stops. Linked into tests/NPipes.Stress too, so both run the same server.
/// </summary>
internal static class EchoLoop
{
    /// <summary>Echoes until a clean end of stream, or until <paramref name="stopping"/> fires while waiting for a request.</summary>
    /// <param name="onReceived">Called for each request received (counting).</param>
    /// <param name="onSent">Called for each reply sent (counting).</param>
    public static async Task RunAsync(PipeConnection connection, CancellationToken stopping, Action? onReceived = null, Action? onSent = null)
    {
        try
        {
            while (await connection.ReceiveAsync(stopping) is { } request)
            {
                using (request)
                {
                    onReceived?.Invoke();
                    // A request that arrived is answered even if stopping began meanwhile.
                    await connection.SendAsync(request.Payload, CancellationToken.None);
                    onSent?.Invoke();
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The server stopped while this handler waited for a next request that was never coming.
        }
    }
}
