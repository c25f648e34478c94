/* winapi_helper.exe: the kernel32 side of tests/wine/winapi_proxy.py.
 *
 * A win-x64 program (x86_64-w64-mingw32-gcc) run under Wine.  It reads call
 * requests on standard input, performs each with the real kernel32 call and
 * writes the reply on standard output.  Handles, events and OVERLAPPED
 * structures live here; the proxy holds their values as plain integers.
 *
 * Wire (both directions): u32 LE body length, then the body.
 *   request: u32 call id, u8 name length, name, values...
 *   reply:   u32 call id, u32 raise (1: the proxy raises OSError),
 *            u32 error (GetLastError or a returned error code), values...
 *   value:   'i' i64 LE | 'b' u32 length, bytes | 'n' (None)
 * Strings travel as 'b' values holding UTF-16LE with a terminating NUL.
 * A request with call id 0 gets no reply (ov_free).
 *
 * Every request runs on a worker thread; a new worker is started whenever
 * none is idle, so one call blocked in the kernel (ConnectNamedPipe,
 * GetOverlappedResult(wait), WaitForMultipleObjects...) never delays
 * another.  End of standard input ends the process.
 *
 * Adding a call: one handler below (read args with arg_int/arg_buf, set
 * r->raise/r->error, add results with put_int/put_buf) and one row in
 * CALLS[]; then one function in winapi_proxy.py.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <sddl.h>
#include <aclapi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const unsigned char *p, *end; int bad; } Args;
typedef struct { unsigned char *buf; size_t len, cap; uint32_t raise, error; } Reply;

static HANDLE out_handle;
static CRITICAL_SECTION out_lock;

static void put_raw(Reply *r, const void *data, size_t n) {
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 64;
        while (cap < r->len + n) cap *= 2;
        r->buf = realloc(r->buf, cap);
        if (!r->buf) ExitProcess(3);
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
}
static void put_u32(Reply *r, uint32_t v) { put_raw(r, &v, 4); }
static void put_int(Reply *r, int64_t v) { put_raw(r, "i", 1); put_raw(r, &v, 8); }
static void put_buf(Reply *r, const void *p, uint32_t n) { put_raw(r, "b", 1); put_u32(r, n); put_raw(r, p, n); }

/* The next value: an int ('i'; None reads as *none_value) ... */
static int64_t arg_int_or(Args *a, int64_t none_value) {
    int64_t v = 0;
    if (a->p < a->end && *a->p == 'n') { a->p++; return none_value; }
    if (a->end - a->p < 9 || *a->p != 'i') { a->bad = 1; return 0; }
    memcpy(&v, a->p + 1, 8);
    a->p += 9;
    return v;
}
static int64_t arg_int(Args *a) { return arg_int_or(a, 0); }
/* ... or bytes ('b'; None reads as NULL). */
static const void *arg_buf(Args *a, uint32_t *n) {
    const void *p;
    *n = 0;
    if (a->p < a->end && *a->p == 'n') { a->p++; return NULL; }
    if (a->end - a->p < 5 || *a->p != 'b') { a->bad = 1; return NULL; }
    memcpy(n, a->p + 1, 4);
    if ((size_t)(a->end - a->p - 5) < *n) { a->bad = 1; return NULL; }
    p = a->p + 5;
    a->p += 5 + *n;
    return p;
}
static const wchar_t *arg_str(Args *a) { uint32_t n; return arg_buf(a, &n); }

static void fail(Reply *r, DWORD err) { r->raise = 1; r->error = err; }
#define H(v) ((HANDLE)(intptr_t)(v))
#define I(h) ((int64_t)(intptr_t)(h))

/* ------------------------------------------------------------ Overlapped */
/* _winapi.Overlapped: the OVERLAPPED, its event, and the buffer it reads
 * into or writes from (alive until ov_free). */
typedef struct {
    OVERLAPPED ov;
    HANDLE handle;
    unsigned char *buf;
    DWORD size;
    int reading, pending, completed;
} Ov;

static Ov *ov_new(HANDLE h, DWORD size) {
    Ov *o = calloc(1, sizeof *o);
    if (!o) ExitProcess(3);
    o->handle = h;
    o->ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    o->size = size;
    o->buf = malloc(size ? size : 1);
    if (!o->buf || !o->ov.hEvent) ExitProcess(3);
    return o;
}
static Ov *ov_arg(Args *a) { return (Ov *)(intptr_t)arg_int(a); }
static void put_ov(Reply *r, Ov *o) { put_int(r, I(o)); put_int(r, I(o->ov.hEvent)); }

static void call_ConnectNamedPipe(Args *a, Reply *r) {
    HANDLE h = H(arg_int(a));
    int overlapped = (int)arg_int(a);
    if (!overlapped) {
        if (!ConnectNamedPipe(h, NULL)) fail(r, GetLastError());
        return;
    }
    Ov *o = ov_new(h, 0);
    BOOL ok = ConnectNamedPipe(h, &o->ov);
    DWORD err = ok ? 0 : GetLastError();
    if (err == ERROR_IO_PENDING) o->pending = 1;
    else if (err == ERROR_PIPE_CONNECTED || ok) SetEvent(o->ov.hEvent);
    else { CloseHandle(o->ov.hEvent); free(o->buf); free(o); fail(r, err); return; }
    put_ov(r, o);
}

static void call_ReadFile(Args *a, Reply *r) {
    HANDLE h = H(arg_int(a));
    DWORD size = (DWORD)arg_int(a), n = 0;
    int overlapped = (int)arg_int(a);
    Ov *o = ov_new(h, size);
    BOOL ok = ReadFile(h, o->buf, size, &n, overlapped ? &o->ov : NULL);
    DWORD err = ok ? 0 : GetLastError();
    if (!overlapped) {      /* (ERROR_MORE_DATA returns the part read) */
        if (err && err != ERROR_MORE_DATA) fail(r, err);
        else { put_buf(r, o->buf, n); put_int(r, err); }
        CloseHandle(o->ov.hEvent); free(o->buf); free(o);
        return;
    }
    o->reading = 1;
    if (err == ERROR_IO_PENDING) o->pending = 1;
    else if (err && err != ERROR_MORE_DATA) {
        CloseHandle(o->ov.hEvent); free(o->buf); free(o); fail(r, err); return;
    }
    put_ov(r, o);
    put_int(r, err);
}

static void call_WriteFile(Args *a, Reply *r) {
    HANDLE h = H(arg_int(a));
    uint32_t size;
    const void *data = arg_buf(a, &size);
    int overlapped = (int)arg_int(a);
    DWORD n = 0;
    Ov *o = ov_new(h, size);
    memcpy(o->buf, data, size);
    BOOL ok = WriteFile(h, o->buf, size, &n, overlapped ? &o->ov : NULL);
    DWORD err = ok ? 0 : GetLastError();
    if (!overlapped) {
        if (err) fail(r, err); else { put_int(r, n); put_int(r, 0); }
        CloseHandle(o->ov.hEvent); free(o->buf); free(o);
        return;
    }
    if (err == ERROR_IO_PENDING) o->pending = 1;
    else if (err) { CloseHandle(o->ov.hEvent); free(o->buf); free(o); fail(r, err); return; }
    put_ov(r, o);
    put_int(r, err);
}

/* Overlapped.GetOverlappedResult(wait) -> n, err [, read bytes once completed] */
static void call_ov_result(Args *a, Reply *r) {
    Ov *o = ov_arg(a);
    int wait = (int)arg_int(a);
    DWORD n = 0;
    BOOL ok = GetOverlappedResult(o->handle, &o->ov, &n, wait);
    DWORD err = ok ? 0 : GetLastError();
    switch (err) {
    case 0: case ERROR_MORE_DATA: case ERROR_OPERATION_ABORTED:
        o->completed = 1; o->pending = 0; break;
    case ERROR_IO_INCOMPLETE: break;
    default: o->pending = 0; fail(r, err); return;
    }
    put_int(r, n);
    put_int(r, err);
    if (o->completed && o->reading) put_buf(r, o->buf, n);
}

static void call_ov_cancel(Args *a, Reply *r) {
    Ov *o = ov_arg(a);
    if (o->pending && !CancelIoEx(o->handle, &o->ov) && GetLastError() != ERROR_NOT_FOUND)
        fail(r, GetLastError());
    else o->pending = 0;
}

/* As _winapi's Overlapped dealloc: a pending operation is cancelled and
 * waited for before its buffer is freed.  Any number of ids. */
static void call_ov_free(Args *a, Reply *r) {
    (void)r;
    while (a->p < a->end && !a->bad) {
        Ov *o = ov_arg(a);
        DWORD n;
        if (!o) break;
        if (o->pending && (CancelIoEx(o->handle, &o->ov) || GetLastError() != ERROR_NOT_FOUND))
            GetOverlappedResult(o->handle, &o->ov, &n, TRUE);
        CloseHandle(o->ov.hEvent);
        free(o->buf);
        free(o);
    }
}

/* ------------------------------------------------------------ plain calls */
static void call_CreateNamedPipe(Args *a, Reply *r) {
    const wchar_t *path = arg_str(a);
    DWORD open = (DWORD)arg_int(a), mode = (DWORD)arg_int(a), inst = (DWORD)arg_int(a);
    DWORD out = (DWORD)arg_int(a), in = (DWORD)arg_int(a), timeout = (DWORD)arg_int(a);
    (void)arg_int(a);                  /* security attributes: NULL only */
    HANDLE h = CreateNamedPipeW(path, open, mode, inst, out, in, timeout, NULL);
    if (h == INVALID_HANDLE_VALUE) fail(r, GetLastError()); else put_int(r, I(h));
}

static void call_CreateFile(Args *a, Reply *r) {
    const wchar_t *path = arg_str(a);
    DWORD access = (DWORD)arg_int(a), share = (DWORD)arg_int(a);
    (void)arg_int(a);                  /* security attributes: NULL only */
    DWORD disp = (DWORD)arg_int(a), flags = (DWORD)arg_int(a);
    HANDLE tmpl = H(arg_int(a));
    HANDLE h = CreateFileW(path, access, share, NULL, disp, flags, tmpl);
    if (h == INVALID_HANDLE_VALUE) fail(r, GetLastError()); else put_int(r, I(h));
}

static void call_WaitNamedPipe(Args *a, Reply *r) {
    const wchar_t *path = arg_str(a);
    DWORD ms = (DWORD)arg_int(a);
    if (!WaitNamedPipeW(path, ms)) fail(r, GetLastError());
}

static void call_SetNamedPipeHandleState(Args *a, Reply *r) {
    HANDLE h = H(arg_int(a));
    int64_t v[3];
    DWORD d[3];
    for (int i = 0; i < 3; i++) { v[i] = arg_int_or(a, -1); d[i] = (DWORD)v[i]; }
    if (!SetNamedPipeHandleState(h, v[0] < 0 ? NULL : &d[0], v[1] < 0 ? NULL : &d[1],
                                 v[2] < 0 ? NULL : &d[2]))
        fail(r, GetLastError());
}

static void call_CloseHandle(Args *a, Reply *r) {
    if (!CloseHandle(H(arg_int(a)))) fail(r, GetLastError());
}

static void call_WaitForMultipleObjects(Args *a, Reply *r) {
    int all = (int)arg_int(a);
    DWORD ms = (DWORD)arg_int(a), count = 0, res;
    HANDLE hs[MAXIMUM_WAIT_OBJECTS];
    while (a->p < a->end && count < MAXIMUM_WAIT_OBJECTS) hs[count++] = H(arg_int(a));
    res = WaitForMultipleObjects(count, hs, all, ms);
    if (res == WAIT_FAILED) fail(r, GetLastError()); else put_int(r, res);
}

/* Beyond _winapi: pipe peer identity, for the access-control work (its ctypes
 * kernel32 calls).  Each returns the pid, or raises with GetLastError. */
static void call_GetNamedPipeServerProcessId(Args *a, Reply *r) {
    ULONG pid = 0;
    if (!GetNamedPipeServerProcessId(H(arg_int(a)), &pid)) fail(r, GetLastError()); else put_int(r, pid);
}
static void call_GetNamedPipeClientProcessId(Args *a, Reply *r) {
    ULONG pid = 0;
    if (!GetNamedPipeClientProcessId(H(arg_int(a)), &pid)) fail(r, GetLastError()); else put_int(r, pid);
}

/* GetCurrentProcessId of the helper: the pid a pipe peer sees for us. */
static void call_GetCurrentProcessId(Args *a, Reply *r) { (void)a; put_int(r, GetCurrentProcessId()); }

/* ------------------------------------------------------------ access (npipes/_win32.py's primitives) */
static void put_wstr(Reply *r, const wchar_t *s) { put_buf(r, s, (uint32_t)(wcslen(s) * sizeof(wchar_t))); }
static int put_sid(Reply *r, PSID sid) {
    wchar_t *text = NULL;
    if (!ConvertSidToStringSidW(sid, &text)) return 0;
    put_wstr(r, text);
    LocalFree(text);
    return 1;
}

/* CreateNamedPipeW with the security descriptor of an SDDL string. */
static void call_CreateNamedPipeSddl(Args *a, Reply *r) {
    const wchar_t *path = arg_str(a);
    DWORD open = (DWORD)arg_int(a), mode = (DWORD)arg_int(a), inst = (DWORD)arg_int(a);
    DWORD out = (DWORD)arg_int(a), in = (DWORD)arg_int(a);
    const wchar_t *sddl = arg_str(a);
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, NULL)) {
        fail(r, GetLastError());
        return;
    }
    SECURITY_ATTRIBUTES sa = { sizeof sa, sd, FALSE };
    HANDLE h = CreateNamedPipeW(path, open, mode, inst, out, in, 0, &sa);
    DWORD err = GetLastError();
    LocalFree(sd);
    if (h == INVALID_HANDLE_VALUE) fail(r, err); else put_int(r, I(h));
}

/* A process's token: its user SID, then its enabled (not deny-only) group SIDs. */
static void call_ProcessToken(Args *a, Reply *r) {
    DWORD pid = (DWORD)arg_int(a), n = 0;
    HANDLE p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid), t = NULL;
    if (!p) { fail(r, GetLastError()); return; }
    if (!OpenProcessToken(p, TOKEN_QUERY, &t)) { fail(r, GetLastError()); CloseHandle(p); return; }
    GetTokenInformation(t, TokenUser, NULL, 0, &n);
    TOKEN_USER *u = malloc(n ? n : 1);
    if (!u || !GetTokenInformation(t, TokenUser, u, n, &n) || !put_sid(r, u->User.Sid)) fail(r, GetLastError());
    free(u);
    n = 0;
    GetTokenInformation(t, TokenGroups, NULL, 0, &n);
    TOKEN_GROUPS *g = malloc(n ? n : 1);
    if (g && !r->raise && GetTokenInformation(t, TokenGroups, g, n, &n)) {
        for (DWORD i = 0; i < g->GroupCount; i++) {
            DWORD at = g->Groups[i].Attributes;
            if ((at & SE_GROUP_ENABLED) && !(at & SE_GROUP_USE_FOR_DENY_ONLY)) put_sid(r, g->Groups[i].Sid);
        }
    }
    free(g);
    CloseHandle(t);
    CloseHandle(p);
}

static void call_AccountSid(Args *a, Reply *r) {
    const wchar_t *name = arg_str(a);
    BYTE sid[SECURITY_MAX_SID_SIZE];
    wchar_t dom[256];
    DWORD sn = sizeof sid, dn = 256;
    SID_NAME_USE use;
    if (!LookupAccountNameW(NULL, name, sid, &sn, dom, &dn, &use) || !put_sid(r, sid)) fail(r, GetLastError());
}

/* LookupAccountSidW: domain, then name. */
static void call_SidName(Args *a, Reply *r) {
    PSID sid = NULL;
    wchar_t name[256], dom[256];
    DWORD nn = 256, dn = 256;
    SID_NAME_USE use;
    if (!ConvertStringSidToSidW(arg_str(a), &sid)) { fail(r, GetLastError()); return; }
    if (!LookupAccountSidW(NULL, sid, name, &nn, dom, &dn, &use)) fail(r, GetLastError());
    else { put_wstr(r, dom); put_wstr(r, name); }
    LocalFree(sid);
}

/* The pipe object's owner SID, then its owner and DACL as SDDL. */
static void call_PipeSecurity(Args *a, Reply *r) {
    PSID owner = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    wchar_t *text = NULL;
    SECURITY_INFORMATION what = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    DWORD err = GetSecurityInfo(H(arg_int(a)), SE_KERNEL_OBJECT, what, &owner, NULL, NULL, NULL, &sd);
    if (err) { fail(r, err); return; }
    if (!put_sid(r, owner) || !ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, what, &text, NULL))
        fail(r, GetLastError());
    else { put_wstr(r, text); LocalFree(text); }
    LocalFree(sd);
}

/* ------------------------------------------------------------ sections (npipes/_win32shm.py's primitives) */
typedef struct { void *BaseAddress; ULONG AllocationAttributes; LARGE_INTEGER MaximumSize; } SectionBasic;
typedef LONG (NTAPI *NtQuerySectionFn)(HANDLE, int, void *, SIZE_T, SIZE_T *);
typedef ULONG (NTAPI *StatusToErrorFn)(LONG);

/* CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | flags, size): an unnamed section of the
 * paging file (flags SEC_COMMIT for a ring; the red team's others); with a path, of that file instead. */
static void call_CreateSection(Args *a, Reply *r) {
    DWORD flags = (DWORD)arg_int(a);
    uint64_t size = (uint64_t)arg_int(a);
    const wchar_t *path = arg_str(a);
    HANDLE file = INVALID_HANDLE_VALUE, h;
    if (path) {
        file = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
        if (file == INVALID_HANDLE_VALUE) { fail(r, GetLastError()); return; }
    }
    h = CreateFileMappingW(file, NULL, PAGE_READWRITE | flags, (DWORD)(size >> 32), (DWORD)size, NULL);
    DWORD err = GetLastError();
    if (path) CloseHandle(file);
    if (!h) fail(r, err); else put_int(r, I(h));
}

/* An unnamed event: a handle that is not a section. */
static void call_CreateEvent(Args *a, Reply *r) {
    (void)a;
    HANDLE h = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!h) fail(r, GetLastError()); else put_int(r, I(h));
}

static void call_OpenProcess(Args *a, Reply *r) {
    DWORD access = (DWORD)arg_int(a), pid = (DWORD)arg_int(a);
    HANDLE h = OpenProcess(access, FALSE, pid);
    if (!h) fail(r, GetLastError()); else put_int(r, I(h));
}

/* DuplicateHandle(process, value, GetCurrentProcess(), &h, access, FALSE, 0). */
static void call_DuplicateFrom(Args *a, Reply *r) {
    HANDLE p = H(arg_int(a)), v = H(arg_int(a)), h = NULL;
    DWORD access = (DWORD)arg_int(a);
    if (!DuplicateHandle(p, v, GetCurrentProcess(), &h, access, FALSE, 0)) fail(r, GetLastError());
    else put_int(r, I(h));
}

/* NtQuerySection(h, SectionBasicInformation): attributes, maximum size. */
static void call_QuerySection(Args *a, Reply *r) {
    HANDLE h = H(arg_int(a));
    SectionBasic info;
    SIZE_T got = 0;
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");
    NtQuerySectionFn query = (NtQuerySectionFn)(void (*)(void))GetProcAddress(nt, "NtQuerySection");
    StatusToErrorFn to_error = (StatusToErrorFn)(void (*)(void))GetProcAddress(nt, "RtlNtStatusToDosError");
    LONG status;
    memset(&info, 0, sizeof info);
    if (!query || !to_error) { fail(r, ERROR_PROC_NOT_FOUND); return; }
    status = query(h, 0, &info, sizeof info, &got);
    if (status < 0) { fail(r, to_error(status)); return; }
    put_int(r, info.AllocationAttributes);
    put_int(r, info.MaximumSize.QuadPart);
}

/* MapViewOfFile(h, access, 0, 0, size): the view's address. */
static void call_MapView(Args *a, Reply *r) {
    HANDLE h = H(arg_int(a));
    DWORD access = (DWORD)arg_int(a);
    SIZE_T size = (SIZE_T)arg_int(a);
    void *p = MapViewOfFile(h, access, 0, 0, size);
    if (!p) fail(r, GetLastError()); else put_int(r, I(p));
}

static void call_UnmapView(Args *a, Reply *r) {
    if (!UnmapViewOfFile((void *)(intptr_t)arg_int(a))) fail(r, GetLastError());
}

/* The handles this process holds of the same type as handle *sample* (a section, a process...), from
 * NtQuerySystemInformation(SystemHandleInformation) (Wine 8's GetProcessHandleCount answers 0). */
typedef struct { ULONG OwnerPid; BYTE ObjectType, HandleFlags; USHORT HandleValue; void *ObjectPointer;
                 ULONG AccessMask; } HandleEntry;
typedef struct { ULONG Count; HandleEntry Handle[1]; } HandleTable;
typedef LONG (NTAPI *QuerySystemFn)(int, void *, ULONG, ULONG *);

static void call_HandleCount(Args *a, Reply *r) {
    USHORT sample = (USHORT)arg_int(a);
    DWORD me = GetCurrentProcessId();
    ULONG size = 1 << 20, got = 0, n = 0;
    int type = -1;
    QuerySystemFn query = (QuerySystemFn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"ntdll.dll"),
                                                                        "NtQuerySystemInformation");
    HandleTable *table;
    LONG status;
    if (!query) { fail(r, ERROR_PROC_NOT_FOUND); return; }
    for (;;) {
        if (!(table = malloc(size))) ExitProcess(3);
        status = query(16, table, size, &got);
        if (status != (LONG)0xC0000004) break;       /* STATUS_INFO_LENGTH_MISMATCH */
        free(table);
        size *= 2;
    }
    if (status < 0) { free(table); fail(r, ERROR_NOT_SUPPORTED); return; }
    for (ULONG i = 0; i < table->Count; i++)
        if (table->Handle[i].OwnerPid == me && table->Handle[i].HandleValue == sample) type = table->Handle[i].ObjectType;
    for (ULONG i = 0; i < table->Count; i++)
        if (table->Handle[i].OwnerPid == me && table->Handle[i].ObjectType == type) n++;
    free(table);
    if (type < 0) fail(r, ERROR_INVALID_HANDLE); else put_int(r, n);
}

typedef void (*Handler)(Args *, Reply *);
static const struct { const char *name; Handler fn; } CALLS[] = {
    {"CreateNamedPipe", call_CreateNamedPipe},
    {"ConnectNamedPipe", call_ConnectNamedPipe},
    {"CreateFile", call_CreateFile},
    {"WaitNamedPipe", call_WaitNamedPipe},
    {"SetNamedPipeHandleState", call_SetNamedPipeHandleState},
    {"ReadFile", call_ReadFile},
    {"WriteFile", call_WriteFile},
    {"CloseHandle", call_CloseHandle},
    {"WaitForMultipleObjects", call_WaitForMultipleObjects},
    {"GetCurrentProcessId", call_GetCurrentProcessId},
    {"CreateNamedPipeSddl", call_CreateNamedPipeSddl},
    {"ProcessToken", call_ProcessToken},
    {"AccountSid", call_AccountSid},
    {"SidName", call_SidName},
    {"PipeSecurity", call_PipeSecurity},
    {"GetNamedPipeServerProcessId", call_GetNamedPipeServerProcessId},
    {"GetNamedPipeClientProcessId", call_GetNamedPipeClientProcessId},
    {"CreateSection", call_CreateSection},
    {"CreateEvent", call_CreateEvent},
    {"OpenProcess", call_OpenProcess},
    {"DuplicateFrom", call_DuplicateFrom},
    {"QuerySection", call_QuerySection},
    {"MapView", call_MapView},
    {"UnmapView", call_UnmapView},
    {"HandleCount", call_HandleCount},
    {"ov_result", call_ov_result},
    {"ov_cancel", call_ov_cancel},
    {"ov_free", call_ov_free},
};

/* ------------------------------------------------------------ I/O, workers */
typedef struct Job { struct Job *next; unsigned char *body; DWORD len; } Job;
static CRITICAL_SECTION q_lock;
static CONDITION_VARIABLE q_cv;
static Job *q_head, *q_tail;
static int waiting, queued;     /* workers waiting; jobs not yet taken */

static void write_all(const void *p, DWORD n) {
    DWORD w;
    while (n) {
        if (!WriteFile(out_handle, p, n, &w, NULL) || !w) ExitProcess(2);
        p = (const char *)p + w;
        n -= w;
    }
}

static void run(Job *j) {
    Args a = { j->body, j->body + j->len, 0 };
    Reply r = { 0 };
    uint32_t id = 0;
    unsigned nlen;
    Handler fn = NULL;
    if (j->len < 5) ExitProcess(4);
    memcpy(&id, a.p, 4);
    nlen = a.p[4];
    a.p += 5;
    if ((DWORD)(a.end - a.p) < nlen) ExitProcess(4);
    for (size_t i = 0; i < sizeof CALLS / sizeof CALLS[0]; i++)
        if (strlen(CALLS[i].name) == nlen && !memcmp(CALLS[i].name, a.p, nlen)) fn = CALLS[i].fn;
    a.p += nlen;
    put_u32(&r, 0); put_u32(&r, id); put_u32(&r, 0); put_u32(&r, 0);
    if (!fn) fail(&r, ERROR_INVALID_FUNCTION);
    else fn(&a, &r);
    if (a.bad) { r.len = 16; fail(&r, ERROR_BAD_ARGUMENTS); }
    if (id) {
        uint32_t body = (uint32_t)r.len - 4;
        memcpy(r.buf, &body, 4);
        memcpy(r.buf + 8, &r.raise, 4);
        memcpy(r.buf + 12, &r.error, 4);
        EnterCriticalSection(&out_lock);
        write_all(r.buf, (DWORD)r.len);
        LeaveCriticalSection(&out_lock);
    }
    free(r.buf);
    free(j->body);
    free(j);
}

static DWORD WINAPI worker(void *unused) {
    (void)unused;
    for (;;) {
        Job *j;
        EnterCriticalSection(&q_lock);
        waiting++;
        while (!q_head) SleepConditionVariableCS(&q_cv, &q_lock, INFINITE);
        waiting--;
        queued--;
        j = q_head;
        q_head = j->next;
        if (!q_head) q_tail = NULL;
        LeaveCriticalSection(&q_lock);
        run(j);
    }
    return 0;
}

static int read_all(HANDLE in, void *p, DWORD n) {
    DWORD got;
    while (n) {
        if (!ReadFile(in, p, n, &got, NULL) || !got) return 0;
        p = (char *)p + got;
        n -= got;
    }
    return 1;
}

int main(void) {
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    out_handle = GetStdHandle(STD_OUTPUT_HANDLE);
    InitializeCriticalSection(&out_lock);
    InitializeCriticalSection(&q_lock);
    InitializeConditionVariable(&q_cv);
    write_all("npipes-winapi-helper 1\n", 23);        /* ready */
    for (;;) {
        uint32_t len;
        Job *j;
        int start;
        if (!read_all(in, &len, 4)) break;
        j = calloc(1, sizeof *j);
        if (!j || !(j->body = malloc(len ? len : 1))) ExitProcess(3);
        j->len = len;
        if (!read_all(in, j->body, len)) break;
        EnterCriticalSection(&q_lock);
        if (q_tail) q_tail->next = j; else q_head = j;
        q_tail = j;
        start = ++queued > waiting;   /* more jobs than waiting workers */
        WakeConditionVariable(&q_cv);
        LeaveCriticalSection(&q_lock);
        if (start) {
            HANDLE t = CreateThread(NULL, 256 * 1024, worker, NULL, 0, NULL);
            if (!t) ExitProcess(5);
            CloseHandle(t);
        }
    }
    ExitProcess(0);
}
