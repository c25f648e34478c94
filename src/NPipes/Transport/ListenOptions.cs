namespace NPipes.Transport;

/// <summary>What the transport needs to know to create a pipe server.</summary>
/// <param name="CurrentUserOnly">Only the current OS user may connect.</param>
/// <param name="BufferSize">Windows pipe buffer sizes, in and out.</param>
/// <param name="MaxInstances">Windows instance limit: 1 for npipes-style single-shot pipes, -1 for as many as the OS allows.</param>
internal readonly record struct ListenOptions(bool CurrentUserOnly, int BufferSize, int MaxInstances);
