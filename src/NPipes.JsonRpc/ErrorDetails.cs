using StreamJsonRpc.Protocol;

namespace NPipes;

/// <summary>An error reply's <c>data</c> without this process's stack traces (docs/rpc.md, section 5).</summary>
internal static class ErrorDetails
{
    /// <summary>The type names and messages of <paramref name="data"/> (and of its inner errors), with no stack trace.</summary>
    public static object? WithoutStackTraces(object? data) => data switch
    {
        CommonErrorData common => Strip(common),
        Exception exception => Strip(new CommonErrorData(exception)),
        _ => data,
    };

    private static CommonErrorData Strip(CommonErrorData data)
    {
        // Iterative: an exception chain a peer provoked may be deep.
        var top = new CommonErrorData { TypeName = data.TypeName, Message = data.Message, HResult = data.HResult };
        CommonErrorData copy = top;
        for (CommonErrorData? inner = data.Inner; inner is not null; inner = inner.Inner)
        {
            copy.Inner = new CommonErrorData { TypeName = inner.TypeName, Message = inner.Message, HResult = inner.HResult };
            copy = copy.Inner;
        }
        return top;
    }
}
