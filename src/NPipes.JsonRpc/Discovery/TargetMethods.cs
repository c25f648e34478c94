using System.Reflection;
using StreamJsonRpc;

namespace NPipes;

/// <summary>The methods StreamJsonRpc serves on a target type, each under the one name a document lists (docs/rpc.md §8.3).</summary>
internal static class TargetMethods
{
    /// <summary>
    /// (name, method) pairs sorted by name: StreamJsonRpc's own <see cref="RpcTargetMetadata"/> (so the names are the
    /// ones it dispatches), a <c>FooAsync</c> under its alias <c>Foo</c>, transformed as <paramref name="options"/> says.
    /// Overloads under one name are a problem (OpenRPC has one signature per name).
    /// </summary>
    public static IEnumerable<(string Name, MethodInfo Method)> Of(Type targetType, JsonRpcTargetOptions? options, List<string> problems)
    {
        RpcTargetMetadata metadata = targetType.IsInterface ? RpcTargetMetadata.FromInterface(targetType)
            : options?.AllowNonPublicInvocation == true ? RpcTargetMetadata.FromClassNonPublic(targetType)
            : RpcTargetMetadata.FromClass(targetType);
        var aliased = new Dictionary<MethodInfo, string>();
        foreach ((string alias, IReadOnlyList<RpcTargetMetadata.TargetMethodMetadata> methods) in metadata.AliasedMethods)
        {
            foreach (RpcTargetMetadata.TargetMethodMetadata method in methods)
            {
                aliased[method.MethodInfo] = alias;
            }
        }
        var byName = new SortedDictionary<string, List<MethodInfo>>(StringComparer.Ordinal);
        foreach ((string name, IReadOnlyList<RpcTargetMetadata.TargetMethodMetadata> methods) in metadata.Methods)
        {
            foreach (RpcTargetMetadata.TargetMethodMetadata method in methods)
            {
                string listed = aliased.GetValueOrDefault(method.MethodInfo, name);
                listed = options?.MethodNameTransform?.Invoke(listed) ?? listed;
                if (listed == OpenRpcDocument.DiscoverMethodName)
                {
                    continue;
                }
                if (!byName.TryGetValue(listed, out List<MethodInfo>? list))
                {
                    byName[listed] = list = [];
                }
                list.Add(method.MethodInfo);
            }
        }
        foreach ((string name, List<MethodInfo> methods) in byName)
        {
            if (methods.Count > 1)
            {
                problems.Add($"{name}: {methods.Count} overloads ({string.Join(", ", methods.Select(m => m.ToString()))}); OpenRPC describes one signature per name");
                continue;
            }
            yield return (name, methods[0]);
        }
    }

    /// <summary>True if <paramref name="targetType"/> serves its own <c>rpc.discover</c>.</summary>
    public static bool HasOwnDiscover(Type targetType, JsonRpcTargetOptions? options)
    {
        RpcTargetMetadata metadata = targetType.IsInterface ? RpcTargetMetadata.FromInterface(targetType) : RpcTargetMetadata.FromClass(targetType);
        return metadata.Methods.Keys.Concat(metadata.AliasedMethods.Keys).Any(n => (options?.MethodNameTransform?.Invoke(n) ?? n) == OpenRpcDocument.DiscoverMethodName);
    }
}
