/* For running Windows builds under Wine 8 only (tests/wine): Rust's standard library asks
 * bcryptprimitives.dll for ProcessPrng, which Wine 8 does not have. This DLL, put beside
 * the .exe, forwards it to RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 * Never shipped: real Windows (10 and later) has ProcessPrng. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG n = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}
