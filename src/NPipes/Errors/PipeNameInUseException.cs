namespace NPipes;

/// <summary>Another live server already holds the pipe name. NPipes never takes a name over.</summary>
public sealed class PipeNameInUseException : NPipesException
{
    /// <summary>Creates the exception for a pipe name.</summary>
    public PipeNameInUseException(string pipeName, Exception? innerException = null)
        : base($"The pipe name '{pipeName}' is held by another live server; NPipes will not take it over.", innerException)
    {
        PipeName = pipeName;
    }

    /// <summary>The name that is in use.</summary>
    public string PipeName { get; }
}
