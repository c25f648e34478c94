using Microsoft.CodeAnalysis;

namespace System.Runtime.CompilerServices
{
    // .NET 6's pooling builders, for netstandard2.0: names only, so `[AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]`
    // compiles. The attribute that names them there is NPipes.AsyncMethodBuilderAttribute below, which the compiler does not
    // treat as a builder override: those methods use the ordinary ValueTask builder (no pooling on those frameworks).

    /// <summary>Stands in for .NET 6's pooling builder of <c>ValueTask</c> (never used to build: see above).</summary>
    [Embedded]
    internal struct PoolingAsyncValueTaskMethodBuilder
    {
    }

    /// <summary>Stands in for .NET 6's pooling builder of <c>ValueTask&lt;TResult&gt;</c> (never used to build: see above).</summary>
    [Embedded]
    internal struct PoolingAsyncValueTaskMethodBuilder<TResult>
    {
    }
}

namespace NPipes
{
    /// <summary>
    /// Shadows System.Runtime.CompilerServices.AsyncMethodBuilderAttribute inside the NPipes namespaces on netstandard2.0,
    /// whose copy (System.Threading.Tasks.Extensions) may not be put on methods. The compiler ignores this one, so a
    /// method marked with it is built by the default builder.
    /// </summary>
    [Embedded]
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class AsyncMethodBuilderAttribute(Type builderType) : Attribute
    {
        public Type BuilderType { get; } = builderType;
    }
}
