using Microsoft.CodeAnalysis;

namespace System.Threading
{
    /// <summary>.NET Core 3's work-item interface for netstandard2.0, queued through <see cref="ThreadPoolPolyfills"/>.</summary>
    [Embedded]
    internal interface IThreadPoolWorkItem
    {
        void Execute();
    }

    /// <summary>.NET Core 3's <c>ThreadPool.UnsafeQueueUserWorkItem(IThreadPoolWorkItem, bool)</c>, over the callback overload.</summary>
    [Embedded]
    internal static class ThreadPoolPolyfills
    {
        private static readonly WaitCallback s_execute = static item => ((IThreadPoolWorkItem)item!).Execute();

        extension(ThreadPool)
        {
            public static bool UnsafeQueueUserWorkItem(IThreadPoolWorkItem callBack, bool preferLocal)
            {
                _ = preferLocal; // not offered here: the global queue
                return ThreadPool.UnsafeQueueUserWorkItem(s_execute, callBack);
            }
        }
    }
}
