namespace NPipes.Tests;

/// <summary>Shared helpers: every test gets its own random pipe name and a bounded wait.</summary>
internal static class TestPipes
{
    /// <summary>A fresh pipe name no other test uses.</summary>
    public static string NewName() => "npt_" + Guid.NewGuid().ToString("N")[..16];

    /// <summary>The longest any single pipe operation in a test may take before the test fails instead of hanging.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Options with a bounded timeout so a broken test fails rather than hangs.</summary>
    public static NPipesOptions Options(FrameOptions? frame = null) => new() { Frame = frame ?? FrameOptions.Default, Timeout = Patience };

    /// <summary>The npipes 1.0.1 frame vectors the tests use: the repository's own copy, so a clone alone passes.</summary>
    public static string VectorsFile => Path.Combine(RepoRoot, "tests", "vectors", "npipes-1.0.1-frames.json");

    /// <summary>The repository's ../shared folder, or $NPIPES_SHARED (CI has it beside the checkout); it may not exist.</summary>
    public static string SharedDir
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("NPIPES_SHARED");
            return !string.IsNullOrEmpty(env) ? env : Path.Combine(Directory.GetParent(RepoRoot)!.FullName, "shared");
        }
    }

    /// <summary>The repository root.</summary>
    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "NPipes.slnx")))
                {
                    return dir.FullName;
                }
            }
            throw new DirectoryNotFoundException("Cannot find the repository root (NPipes.slnx).");
        }
    }
}

/// <summary>Waiting for a condition another task brings about, bounded, without a fixed sleep.</summary>
internal static class Until
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test if it does not within <see cref="TestPipes.Patience"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TestPipes.Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for " + what);
            await Task.Yield();
            await Task.Delay(1);
        }
    }

    /// <summary>Waits until the pipe's server exists (on Unix its socket file appears).</summary>
    public static Task PipeExistsAsync(string name) => TrueAsync(() => File.Exists(PipeNames.GetPath(name)), $"pipe '{name}' to be created");
}
