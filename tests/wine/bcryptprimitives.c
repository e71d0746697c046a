/* Test-only shim for Wine 8, never shipped: the Rust standard library gets its
 * random bytes from ProcessPrng (bcryptprimitives.dll, Windows 10 / Server
 * 2016 and later), which Wine 8 does not provide. This DLL provides it on top
 * of RtlGenRandom (advapi32's SystemFunction036). tests/scripts/windows.sh
 * builds it with mingw-w64 and puts it in the Wine prefix's system32. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
