using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace NPipes.Transport;

/// <summary>
/// The Windows calls behind the ring in a section object (docs/shared-memory.md §9): CreateFileMapping, MapViewOfFile,
/// UnmapViewOfFile, OpenProcess, DuplicateHandle, NtQuerySection (ntdll), CloseHandle. Only the Windows code of either
/// build calls them.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe class SectionNative
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

    // DllImport with blittable signatures only (BOOL as int, handles as nint, out-values as pointers), so the same
    // declarations serve both builds (netstandard2.0 has no LibraryImport) and need no marshalling stub on either.
    [DllImport("kernel32", EntryPoint = "CreateFileMappingW", SetLastError = true)]
    public static extern nint CreateFileMapping(nint file, nint attributes, uint protect, uint maximumSizeHigh, uint maximumSizeLow, char* name);

    [DllImport("kernel32", SetLastError = true)]
    public static extern nint MapViewOfFile(nint section, uint access, uint offsetHigh, uint offsetLow, nuint bytes);

    [DllImport("kernel32", SetLastError = true)]
    public static extern int UnmapViewOfFile(nint address);

    [DllImport("kernel32", SetLastError = true)]
    public static extern nint OpenProcess(uint access, int inherit, uint pid);

    [DllImport("kernel32", SetLastError = true)]
    public static extern int DuplicateHandle(nint sourceProcess, nint source, nint targetProcess, nint* target, uint access, int inherit, uint options);

    [DllImport("kernel32")]
    public static extern nint GetCurrentProcess();

    [DllImport("kernel32", SetLastError = true)]
    public static extern int CloseHandle(nint handle);

    [DllImport("ntdll")]
    public static extern int NtQuerySection(nint section, int informationClass, SectionBasic* information, nuint length, nuint* returned);

    /// <summary>The last error of a failed call, in words with its number.</summary>
    public static string LastError()
    {
        int error = Marshal.GetLastPInvokeError();
        return $"{Marshal.GetPInvokeErrorMessage(error)} (error {error})";
    }
}
