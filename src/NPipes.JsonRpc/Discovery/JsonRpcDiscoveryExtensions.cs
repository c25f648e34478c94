using System.Text.Json;
using StreamJsonRpc;

namespace NPipes;

/// <summary>Serves <c>rpc.discover</c> (OpenRPC service discovery, docs/rpc.md §8.2) on a <see cref="JsonRpc"/>.</summary>
public static class JsonRpcDiscoveryExtensions
{
    /// <summary>
    /// Answers <c>rpc.discover</c> on <paramref name="rpc"/> with <see cref="OpenRpcDocument.Describe"/>'s document of
    /// <paramref name="targetType"/> (built on the first request, then cached per type). A type that cannot be described
    /// gets error -32603 listing why; its other methods are unaffected. Nothing is added if the type serves its own
    /// <c>rpc.discover</c>. Call before <see cref="JsonRpc.StartListening"/>.
    /// </summary>
    /// <param name="rpc">The connection's <see cref="JsonRpc"/>.</param>
    /// <param name="targetType">The type of the target added with <see cref="JsonRpc.AddLocalRpcTarget(object, JsonRpcTargetOptions?)"/>.</param>
    /// <param name="targetOptions">The options the target was added with.</param>
    /// <param name="serializerOptions">The formatter's serializer options; default those of <see cref="JsonRpcConventions.CreateFormatter"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="rpc"/> or <paramref name="targetType"/> is null.</exception>
    public static void AddRpcDiscover(this JsonRpc rpc, Type targetType, JsonRpcTargetOptions? targetOptions = null, JsonSerializerOptions? serializerOptions = null)
    {
        ArgumentNullException.ThrowIfNull(rpc);
        ArgumentNullException.ThrowIfNull(targetType);
        if (TargetMethods.HasOwnDiscover(targetType, targetOptions))
        {
            return;
        }
        rpc.AddLocalRpcMethod(OpenRpcDocument.DiscoverMethodName, new Func<JsonElement>(() =>
        {
            try
            {
                return OpenRpcDocument.Describe(targetType, targetOptions, serializerOptions);
            }
            catch (NotSupportedException e)
            {
                throw new LocalRpcException(e.Message) { ErrorCode = (int)StreamJsonRpc.Protocol.JsonRpcErrorCode.InternalError };
            }
        }));
    }
}
