using System.Net;
using System.Net.Sockets;

namespace NPipes.Transport;

/// <summary>
/// An AF_UNIX address that .NET's <see cref="Socket"/> does not remember as a file it bound. A socket bound to a
/// <see cref="UnixDomainSocketEndPoint"/> unlinks that path when disposed, whatever is there by then (a successor's
/// socket, say); the endpoint protocol unlinks only the file it recorded (doc §9), so it binds through this instead.
/// </summary>
internal sealed class UnownedUnixEndPoint(string path) : EndPoint
{
    private readonly UnixDomainSocketEndPoint _address = new(path);

    public override AddressFamily AddressFamily => AddressFamily.Unix;

    public override SocketAddress Serialize() => _address.Serialize();

    public override EndPoint Create(SocketAddress socketAddress) => _address.Create(socketAddress);

    public override string ToString() => _address.ToString();
}
