using System.Reflection;
using System.Runtime.Versioning;

namespace NPipes.Tests.Build;

/// <summary>Which build of the library this suite runs against: the net10.0 one (NPipes.Tests) or the netstandard2.0 one (NPipes.Tests.NetStandard).</summary>
public class BuildTests
{
    [Fact]
    public void The_library_under_test_is_the_build_this_suite_is_for()
    {
        string? framework = typeof(Ipc).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName;
#if NPIPES_NETSTANDARD
        Assert.Equal(".NETStandard,Version=v2.0", framework);
#else
        Assert.Equal(".NETCoreApp,Version=v10.0", framework);
#endif
    }
}
