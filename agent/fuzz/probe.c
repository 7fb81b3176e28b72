/* Configure-time probe: can clang link a libFuzzer program here? */
#include <stddef.h>
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        (void)data;
        (void)size;
        return 0;
}
