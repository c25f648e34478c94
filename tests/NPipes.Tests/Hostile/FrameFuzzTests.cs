namespace NPipes.Tests.Hostile;

/// <summary>The decoder under 100,000+ generated and mutated frames (fixed seed, so a failure reproduces).</summary>
[Collection(HostileCollection.Name)]
public class FrameFuzzTests
{
    public const int Seed = 1_0_1; // npipes 1.0.1
    public const int Iterations = 50_000; // one valid and one mutated frame each: 100,000 frames

    [Fact]
    public async Task Generated_and_mutated_frames_decode_consistently_or_throw_FrameException()
    {
        FuzzReport report = await Task.Run(() => FrameFuzzer.Run(Seed, Iterations), TestContext.Current.CancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(120), TestContext.Current.CancellationToken); // a hang fails instead of blocking CI
        TestContext.Current.SendDiagnosticMessage("fuzz: " + report);
        Assert.True(report.Failures.Count == 0, string.Join(Environment.NewLine, report.Failures));
        Assert.True(report.Frames >= 100_000);
        Assert.True(report.MutatedRejected > report.MutatedFrames / 2, report.ToString()); // the mutations do bite
        Assert.True(report.MutatedDecodedWhole > 0 && report.MutatedIncomplete > 0, report.ToString()); // every outcome is exercised
        Assert.True(report.Rejections.Count >= 3, report.ToString()); // too large, length mismatch, CRC
    }
}
