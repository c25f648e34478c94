using System.Text.Json;
using StreamJsonRpc;

namespace NPipes.RpcTests;

/// <summary>Targets whose OpenRPC documents the discovery tests check.</summary>
public static class DiscoveryTargets
{
    public sealed record Stats(int Count, double Mean, string? Label = null);

    public sealed record Page<T>(IReadOnlyList<T> Items, bool More);

    public enum Shade { DarkRed, Blue }

    /// <summary>Every supported shape once.</summary>
    public sealed class Statistics
    {
        [JsonRpcMethod("summarize")]
        public Stats Summarize(double[] values, string? label = null) => new(values.Length, values.Average(), label);

        public Task<Page<Stats>> PageAsync(int start, Dictionary<string, long> limits, CancellationToken cancellationToken) =>
            Task.FromResult(new Page<Stats>([new Stats(start, limits.Count)], false));

        public Task ResetAsync(Shade shade, byte[] seed, Guid id) => Task.CompletedTask;

        public Stats? Find(Stats? near, bool exact) => near;
    }

    /// <summary>One method of each unsupported kind, beside one that is fine.</summary>
    public sealed class Unsupported
    {
        public int Fine(int a) => a;

        public string Any(object value) => value.ToString() ?? "";

        public string Raw(JsonElement value) => value.GetRawText();

        public int Call(Func<int> callback) => callback();

        public long Read(Stream stream) => stream.Length;

        public int Over(int a) => a;

        public int Over(string a) => a.Length;

        public Node Tree(Node node) => node;

        public Bag Loose(Bag bag) => bag;
    }

    public sealed record Node(int Value, Node? Next);

    public sealed record Bag(Dictionary<string, object> Items);
}
