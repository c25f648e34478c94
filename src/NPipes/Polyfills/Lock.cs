using Microsoft.CodeAnalysis;

namespace System.Threading;

/// <summary>
/// .NET 9's <c>Lock</c> for netstandard2.0: a <c>lock</c> statement on it compiles to <see cref="EnterScope"/>, which is
/// <see cref="Monitor"/> on a private object, as <c>lock</c> on any object would be.
/// </summary>
[Embedded]
internal sealed class Lock
{
    private readonly object _monitor = new();

    /// <summary>Enters the lock; disposing the scope exits it.</summary>
    public Scope EnterScope()
    {
        Monitor.Enter(_monitor);
        return new Scope(_monitor);
    }

    /// <summary>Whether the current thread holds the lock.</summary>
    public bool IsHeldByCurrentThread => Monitor.IsEntered(_monitor);

    /// <summary>A held lock: <see cref="Dispose"/> exits it.</summary>
    public ref struct Scope(object monitor)
    {
        /// <summary>Exits the lock.</summary>
        public readonly void Dispose() => Monitor.Exit(monitor);
    }
}
