namespace NPipes.Tests.Hostile;

/// <summary>
/// The hostile-input, fault, load and security tests run alone (after the parallel collections): several assert that
/// the process's allocated bytes, file descriptors or managed heap stay bounded, which other tests running at the same
/// time would blur.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostileCollection
{
    public const string Name = "Hostile";
}
