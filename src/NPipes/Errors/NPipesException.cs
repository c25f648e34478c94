namespace NPipes;

/// <summary>The base of every error NPipes raises about a pipe or the data on it.</summary>
public class NPipesException : IOException
{
    /// <summary>Creates the exception with a message.</summary>
    public NPipesException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public NPipesException(string message, Exception? innerException) : base(message, innerException) { }
}
