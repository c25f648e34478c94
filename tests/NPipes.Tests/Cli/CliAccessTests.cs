using System.Text.Json;

namespace NPipes.Tests.Cli;

/// <summary>The CLI's access flags (docs/access.md §7) as one user: unknown names are usage errors, and whoami answers the caller.</summary>
public class CliAccessTests
{
    [Theory]
    [InlineData("echo", "--allow-user")]
    [InlineData("echo", "--allow-group")]
    [InlineData("request", "--server-user")]
    [InlineData("request", "--server-group")]
    public async Task An_account_that_does_not_exist_is_a_usage_error_naming_it(string command, string flag)
    {
        string missing = "npx" + Guid.NewGuid().ToString("N")[..12];
        string[] args = command == "echo" ? [command, TestPipes.NewName(), flag, missing] : [command, TestPipes.NewName(), "hi", flag, missing, "--timeout", "5"];
        (int code, string output, string error) = await CliProcess.RunAsync(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains($"no {(flag.EndsWith("-group", StringComparison.Ordinal) ? "group" : OperatingSystem.IsWindows() ? "account" : "user")} named '{missing}'", error);
    }

    [Fact]
    public async Task Whoami_answers_the_caller_of_rpc_serve()
    {
        string name = TestPipes.NewName();
        using CliProcess serve = CliProcess.Start("rpc", "serve", name, "--allow-group", OperatingSystem.IsWindows() ? "S-1-5-32-544" : "0");
        await serve.PipeExistsAsync(name);
        using CliProcess call = CliProcess.Start("rpc", "call", name, "whoami", "--timeout", "30");
        (int code, string output, string error) = await call.ExitAsync();
        Assert.True(code == 0, error);
        using var result = JsonDocument.Parse(output);
        Assert.Equal([ "pid", "uid", "user", "sid" ], result.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.True(result.RootElement.GetProperty("pid").GetInt32() > 0); // the exact pid: AccessTests, across accounts
        Assert.Equal(Environment.UserName, result.RootElement.GetProperty("user").GetString()?.Split('\\')[^1]);
    }
}
