using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The Windows calls behind the ring in a section object (docs/shared-memory.md §9): CreateFileMapping, MapViewOfFile,
/// UnmapViewOfFile, OpenProcess, DuplicateHandle, NtQuerySection (ntdll), CloseHandle. Only the Windows code of the
/// net10.0 build calls them.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class SectionNative
{
    public const uint PageReadWrite = 0x04;
    public const uint SecFile = 0x800000;
    public const uint SecImage = 0x1000000;
    public const uint SecReserve = 0x4000000;
    public const uint SecCommit = 0x8000000;
    public const uint SecLargePages = 0x80000000;

    /// <summary>What an attached section must not be (§9 step 3): file-backed, an image, reserved-not-committed, large pages.</summary>
    public const uint SecRefused = SecFile | SecImage | SecReserve | SecLargePages;

    public const uint SectionQuery = 0x1;
    public const uint SectionMapWrite = 0x2;
    public const uint SectionMapRead = 0x4;
    public const uint FileMapWrite = 0x2;
    public const uint FileMapRead = 0x4;
    public const uint ProcessDupHandle = 0x40;
    public const int SectionBasicInformation = 0;

    public static readonly nint InvalidHandleValue = -1;

    /// <summary>SECTION_BASIC_INFORMATION: { PVOID BaseAddress; ULONG AllocationAttributes; LARGE_INTEGER MaximumSize; }.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SectionBasic
    {
        public nint BaseAddress;
        public uint AllocationAttributes;
        public long MaximumSize;
    }

    [LibraryImport("kernel32", EntryPoint = "CreateFileMappingW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    public static partial nint CreateFileMapping(nint file, nint attributes, uint protect, uint maximumSizeHigh, uint maximumSizeLow, string? name);

    [LibraryImport("kernel32", SetLastError = true)]
    public static partial nint MapViewOfFile(nint section, uint access, uint offsetHigh, uint offsetLow, nuint bytes);

    [LibraryImport("kernel32", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool UnmapViewOfFile(nint address);

    [LibraryImport("kernel32", SetLastError = true)]
    public static partial nint OpenProcess(uint access, [MarshalAs(UnmanagedType.Bool)] bool inherit, uint pid);

    [LibraryImport("kernel32", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool DuplicateHandle(nint sourceProcess, nint source, nint targetProcess, out nint target, uint access, [MarshalAs(UnmanagedType.Bool)] bool inherit, uint options);

    [LibraryImport("kernel32")]
    public static partial nint GetCurrentProcess();

    [LibraryImport("kernel32", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool CloseHandle(nint handle);

    [LibraryImport("ntdll")]
    public static partial int NtQuerySection(nint section, int informationClass, SectionBasic* information, nuint length, out nuint returned);

    /// <summary>The last error of a failed call, in words with its number.</summary>
    public static string LastError()
    {
        int error = Marshal.GetLastPInvokeError();
        return $"{Marshal.GetPInvokeErrorMessage(error)} (error {error})";
    }
}
