namespace NPipes.Transport;

/// <summary>The netstandard2.0 build's <see cref="UnixSocketStream"/>: a plain <see cref="System.Net.Sockets.NetworkStream"/>, no direct sends or receives.</summary>
internal sealed partial class UnixSocketStream
{
    public IDirectSend? DirectSend => null;

    public IDirectReceive? DirectReceive => null;
}
