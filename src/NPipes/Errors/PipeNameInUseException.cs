namespace NPipes;

/// <summary>Another server already holds the pipe name (live, or a file NPipes may not reclaim). NPipes never takes a name over.</summary>
public sealed class PipeNameInUseException : NPipesException
{
    /// <summary>Creates the exception for a pipe name.</summary>
    public PipeNameInUseException(string pipeName, Exception? innerException = null)
        : this(pipeName, $"The pipe name '{pipeName}' is held by another live server; NPipes will not take it over.", innerException)
    {
    }

    private PipeNameInUseException(string pipeName, string message, Exception? innerException)
        : base(message, innerException)
    {
        PipeName = pipeName;
    }

    /// <summary>The name that is in use.</summary>
    public string PipeName { get; }

    /// <summary>The exception with the reason the name cannot be had (who holds it, why it cannot be reclaimed).</summary>
    internal static PipeNameInUseException Because(string pipeName, string reason) =>
        new(pipeName, $"The pipe name '{pipeName}' is held and NPipes will not take it over: {reason}", null);
}
