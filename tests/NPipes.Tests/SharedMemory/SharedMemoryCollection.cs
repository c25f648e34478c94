namespace NPipes.Tests.SharedMemory;

/// <summary>The shared-memory tests run one at a time: several count this process's memfds, which only they create.</summary>
[CollectionDefinition(Name)]
public sealed class SharedMemoryCollection
{
    public const string Name = "SharedMemory";
}
