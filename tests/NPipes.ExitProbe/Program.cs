using NPipes;

// Serves echo on args[0] as the README shows, with no signal handling of its own: SIGTERM takes .NET's default path
// (ProcessExit), so this code never disposes the server. Prints "listening" once the socket exists.
await using PipeServer server = PipeServer.Listen(args[0]);
Console.WriteLine("listening");
await server.ServeRequestsAsync((string text, CancellationToken _) => ValueTask.FromResult(text));
