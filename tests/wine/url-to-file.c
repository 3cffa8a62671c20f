/* TEST ONLY, for tests/wine/run: a Windows "browser" that writes the URL it is given to the
 * file named by TW_WINE_URL_FILE, where the test's native browser stand-in
 * (tests/oauth-server/browser.mjs) picks it up and signs in. Written under another name,
 * then renamed, so the reader never sees half a URL. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    const char *path = getenv("TW_WINE_URL_FILE");
    char part[4096];
    FILE *f;
    if (argc < 2 || path == NULL) return 2;
    snprintf(part, sizeof part, "%s.part", path);
    f = fopen(part, "w");
    if (f == NULL) return 1;
    fputs(argv[1], f);
    if (fclose(f) != 0) return 1;
    return rename(part, path) == 0 ? 0 : 1;
}
