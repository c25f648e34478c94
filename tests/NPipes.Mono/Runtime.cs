using System;
using System.Reflection;
using System.Runtime.Versioning;
using System.Threading;
using System.Threading.Tasks;

namespace NPipes.Mono;

/// <summary>The first check: the app runs on Mono and loaded the package's netstandard2.0 build, so the rest proves that pair.</summary>
internal static class Runtime
{
    public static string Describe()
    {
        Type? mono = Type.GetType("Mono.Runtime");
        string? version = mono?.GetMethod("GetDisplayName", BindingFlags.NonPublic | BindingFlags.Static)?.Invoke(null, null) as string;
        return mono is null ? "not Mono: " + Environment.Version : "Mono " + version;
    }

    public static Task CheckAsync(CheckRunner runner) => runner.CheckAsync("the app runs on Mono with the package's netstandard2.0 build", _ =>
    {
        Assembly npipes = typeof(PipeConnection).Assembly;
        string? framework = npipes.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName;
        Console.WriteLine($"  runtime {Describe()}; NPipes {framework} from {npipes.Location}");
        Expect.That(Type.GetType("Mono.Runtime") is not null, "the runtime is not Mono: " + Describe());
        Expect.Equal(".NETStandard,Version=v2.0", framework, "the NPipes build loaded");
        return Task.CompletedTask;
    });
}
