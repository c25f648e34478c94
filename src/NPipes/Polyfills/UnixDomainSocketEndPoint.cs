using System.Text;
using Microsoft.CodeAnalysis;

namespace System.Net.Sockets;

/// <summary>
/// .NET Core 2.1's AF_UNIX address for netstandard2.0: <c>struct sockaddr_un</c> as a <see cref="SocketAddress"/>
/// (family, then the path's UTF-8 bytes and a NUL). Unlike .NET's own, a socket bound to it never deletes the path on
/// dispose, which is what the endpoint protocol wants anyway (<c>UnownedUnixEndPoint</c>).
/// </summary>
[Embedded]
internal sealed class UnixDomainSocketEndPoint : EndPoint
{
    private const int PathOffset = 2; // sa_family_t sun_family

    private readonly string _path;

    public UnixDomainSocketEndPoint(string path)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        _path = path;
    }

    public override AddressFamily AddressFamily => AddressFamily.Unix;

    public override SocketAddress Serialize()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(_path);
        var address = new SocketAddress(AddressFamily.Unix, PathOffset + bytes.Length + 1);
        for (int i = 0; i < bytes.Length; i++)
        {
            address[PathOffset + i] = bytes[i];
        }
        address[PathOffset + bytes.Length] = 0;
        return address;
    }

    public override EndPoint Create(SocketAddress socketAddress)
    {
        // An unnamed peer (a client that never bound) has no path: the family alone, or a NUL.
        int end = PathOffset;
        while (end < socketAddress.Size && socketAddress[end] != 0)
        {
            end++;
        }
        byte[] bytes = new byte[Math.Max(0, end - PathOffset)];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = socketAddress[PathOffset + i];
        }
        return new UnixDomainSocketEndPoint(Encoding.UTF8.GetString(bytes));
    }

    public override string ToString() => _path;
}
