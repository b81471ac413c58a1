/*
 * Test support for running holdfast's Windows build under Wine (`make test-windows`).
 *
 * Why this exists: Rust's std (1.78+) gets random bytes from `ProcessPrng` in
 * bcryptprimitives.dll, and imports it at load time. Debian 12's Wine 8 ships no
 * bcryptprimitives.dll, so every Rust .exe fails to start under it. This stand-in
 * exports `ProcessPrng` and forwards to `RtlGenRandom` (exported by advapi32 as
 * `SystemFunction036`), which Wine implements. Windows 10+ has the real DLL;
 * this file is never shipped, only placed next to test executables under Wine.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a ULONG length: feed large requests in chunks. */
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
