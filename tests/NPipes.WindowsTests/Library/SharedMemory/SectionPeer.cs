using System.ComponentModel;
using System.IO.Hashing;
using System.IO.Pipes;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NPipes.WindowsTests.Library.SharedMemory;

/// <summary>
/// A raw shared-memory peer driven frame by frame (docs/shared-memory.md §2, §9), written from the spec and not from the
/// library: descriptor frames encoded here, sections made, mapped and duplicated with kernel32 directly. The test process
/// is both ends, so a handle value announced here is one the library takes out of this same process.
/// </summary>
[SupportedOSPlatform("windows")]
internal static partial class SectionPeer
{
    public const int Control = 4096;
    public const uint KindFile = 1, KindRing = 2, KindAttach = 3;
    public const uint PageReadWrite = 0x04, SecCommit = 0x8000000, SecReserve = 0x4000000;
    private const uint FileMapWrite = 0x2, DuplicateSameAccess = 0x2;

    /// <summary>A whole descriptor frame (44 bytes): header with the 0x80000000 flag, the 32-byte descriptor, CRC field.</summary>
    public static byte[] Descriptor(uint kind, long length, long position, bool bigEndian, bool crc, uint payloadCrc = 0, uint flags = 0)
    {
        var frame = new byte[44];
        Frame.Write(frame.AsSpan(0, 4), 40u ^ 0x80000000u, bigEndian);
        Frame.Write(frame.AsSpan(4, 4), 32, bigEndian);
        Span<byte> d = frame.AsSpan(8, 32);
        Frame.Write(d[0..4], 1, bigEndian);
        Frame.Write(d[4..8], kind, bigEndian);
        Write64(d[8..16], (ulong)length, bigEndian);
        Frame.Write(d[16..20], crc ? payloadCrc : 0, bigEndian);
        Write64(d[20..28], (ulong)position, bigEndian);
        Frame.Write(d[28..32], flags, bigEndian);
        Frame.Write(frame.AsSpan(40, 4), crc ? Crc32.HashToUInt32(d) : 0, bigEndian);
        return frame;
    }

    /// <summary>The fields of a descriptor frame read off the pipe.</summary>
    public static (uint Kind, long Length, long Position, uint Flags) Read(byte[] frame, bool bigEndian)
    {
        Assert.Equal(44, frame.Length);
        Assert.Equal(40u ^ 0x80000000u, Frame.Read(frame.AsSpan(0, 4), bigEndian));
        Span<byte> d = frame.AsSpan(8, 32);
        return (Frame.Read(d[4..8], bigEndian), (long)Read64(d[8..16], bigEndian), (long)Read64(d[20..28], bigEndian), Frame.Read(d[28..32], bigEndian));
    }

    /// <summary>A pagefile-backed section of <paramref name="size"/> bytes with <paramref name="attributes"/> (SEC_COMMIT unless told).</summary>
    public static nint Section(long size, uint attributes = SecCommit) =>
        Check(CreateFileMappingW(-1, 0, PageReadWrite | attributes, (uint)(size >> 32), (uint)size, null), "CreateFileMapping");

    /// <summary>A section over a real file of <paramref name="size"/> bytes (SEC_FILE).</summary>
    public static nint FileSection(string path, long size)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite);
        file.SetLength(size);
        return Check(CreateFileMappingW(file.SafeFileHandle.DangerousGetHandle(), 0, PageReadWrite, (uint)(size >> 32), (uint)size, null), "CreateFileMapping(file)");
    }

    /// <summary>An Event: a handle that is not a section.</summary>
    public static nint Event() => Check(CreateEventW(0, true, false, null), "CreateEvent");

    /// <summary>Maps <paramref name="bytes"/> of a section writable.</summary>
    public static nint Map(nint section, long bytes) => Check(MapViewOfFile(section, FileMapWrite, 0, 0, (nuint)bytes), "MapViewOfFile");

    /// <summary>A handle of this process's own to what <paramref name="value"/> names here (the library's ring, read off the pipe).</summary>
    public static nint Duplicate(long value) =>
        DuplicateHandle(GetCurrentProcess(), (nint)value, GetCurrentProcess(), out nint copy, 0, false, DuplicateSameAccess) ? copy : throw new Win32Exception(Marshal.GetLastPInvokeError(), "DuplicateHandle");

    public static void Unmap(nint address) => UnmapViewOfFile(address);

    /// <summary>Writes <paramref name="data"/> into a view at <paramref name="offset"/>.</summary>
    public static unsafe void WriteAt(nint view, long offset, ReadOnlySpan<byte> data) => data.CopyTo(new Span<byte>((byte*)view + offset, data.Length));

    /// <summary>Reads <paramref name="length"/> bytes of a view at <paramref name="offset"/>.</summary>
    public static unsafe byte[] ReadAt(nint view, long offset, int length) => new ReadOnlySpan<byte>((byte*)view + offset, length).ToArray();

    /// <summary>Flips every bit of one byte of a view.</summary>
    public static unsafe void Flip(nint view, long offset) => *((byte*)view + offset) ^= 0xFF;

    /// <summary>Stores a control page's <c>consumed</c> as a receiver would (one aligned 8-byte store, little-endian on x64).</summary>
    public static unsafe void StoreConsumed(nint control, ulong consumed) => Volatile.Write(ref *(ulong*)control, consumed);

    public static void Close(nint handle) => CloseHandle(handle);

    /// <summary>
    /// This process's open handles as the system's handle table lists them (NtQuerySystemInformation, class 16,
    /// SystemHandleInformation: a count, then 24-byte entries: the owner's pid at 0, the object type's number at 4, the
    /// handle's value at 6), with their type numbers; null when refused. Wine 8.0's GetProcessHandleCount always says 0,
    /// but this table is kept by its server.
    /// </summary>
    public static unsafe List<(byte Type, ushort Handle)>? ListedHandles()
    {
        const int SystemHandleInformation = 16, EntrySize = 24;
        int pid = Environment.ProcessId;
        for (int size = 1 << 20; size <= 1 << 26; size *= 2)
        {
            byte[] buffer = new byte[size];
            fixed (byte* p = buffer)
            {
                int status = NtQuerySystemInformation(SystemHandleInformation, p, (uint)size, out _);
                if (status == unchecked((int)0xC0000004)) // STATUS_INFO_LENGTH_MISMATCH
                {
                    continue;
                }
                if (status < 0)
                {
                    return null;
                }
                long count = *(uint*)p;
                var mine = new List<(byte, ushort)>();
                for (long i = 0; i < count && 8 + (i + 1) * EntrySize <= size; i++)
                {
                    byte* entry = p + 8 + i * EntrySize;
                    if (*(int*)entry == pid)
                    {
                        mine.Add((entry[4], *(ushort*)(entry + 6)));
                    }
                }
                return mine;
            }
        }
        return null;
    }

    /// <summary>The object type number of this process's <paramref name="handle"/> in the system's handle table, or -1.</summary>
    public static int TypeOf(nint handle) =>
        ListedHandles()?.FirstOrDefault(h => h.Handle == (ushort)handle) is { Handle: not 0 } found ? found.Type : -1;

    [LibraryImport("ntdll")]
    private static unsafe partial int NtQuerySystemInformation(int informationClass, byte* information, uint length, out uint returned);

    /// <summary>The CRC-32 of npipes frames.</summary>
    public static uint Crc(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(data);

    /// <summary>A server with <paramref name="options"/> and a raw client of it in message mode; the accepted connection.</summary>
    public static async Task<(PipeServer Server, PipeConnection Connection, NamedPipeClientStream Raw)> RawClientAsync(NPipesOptions options)
    {
        string name = Pipes.NewName();
        PipeServer server = PipeServer.Listen(name, new PipeServerOptions { Connection = options });
        Task<PipeConnection> accepted = server.AcceptAsync(TestContext.Current.CancellationToken).AsTask();
        var raw = Pipes.Client(name);
        await Pipes.OnThread(() => Pipes.ConnectMessageMode(raw));
        return (server, await Pipes.Within(accepted), raw);
    }

    private static nint Check(nint handle, string call) => handle != 0 ? handle : throw new Win32Exception(Marshal.GetLastPInvokeError(), call);

    private static void Write64(Span<byte> b, ulong value, bool bigEndian)
    {
        if (bigEndian) System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(b, value);
        else System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(b, value);
    }

    private static ulong Read64(ReadOnlySpan<byte> b, bool bigEndian) =>
        bigEndian ? System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(b) : System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b);

    [LibraryImport("kernel32", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    private static partial nint CreateFileMappingW(nint file, nint attributes, uint protect, uint high, uint low, string? name);

    [LibraryImport("kernel32", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    private static partial nint CreateEventW(nint attributes, [MarshalAs(UnmanagedType.Bool)] bool manualReset, [MarshalAs(UnmanagedType.Bool)] bool initial, string? name);

    [LibraryImport("kernel32", SetLastError = true)]
    private static partial nint MapViewOfFile(nint section, uint access, uint high, uint low, nuint bytes);

    [LibraryImport("kernel32", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool UnmapViewOfFile(nint address);

    [LibraryImport("kernel32", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool DuplicateHandle(nint sourceProcess, nint source, nint targetProcess, out nint target, uint access, [MarshalAs(UnmanagedType.Bool)] bool inherit, uint options);

    [LibraryImport("kernel32")]
    private static partial nint GetCurrentProcess();

    [LibraryImport("kernel32", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool CloseHandle(nint handle);
}
