/* libFuzzer harness: the request head parser, header parameters and urlencoded forms. */
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
        if (size > 4 * HTTP_MAX_HEAD)
                return 0;
        char *buf = malloc(size + 1);
        memcpy(buf, data, size);
        buf[size] = 0;
        size_t hl = http_head_length(buf, size);
        if (hl) {
                struct http_request req;
                if (http_parse_head(buf, hl, &req) == 0) {
                        struct form f = { 0 };
                        if (req.query)
                                form_parse_urlencoded(&f, req.query, strlen(req.query));
                        const char *ct = http_header_get(&req, "content-type");
                        char b[256];
                        http_header_param(ct, "boundary", b, sizeof b);
                        http_media_type_is(ct, "multipart/form-data");
                        form_parse_urlencoded(&f, (const char *)data + hl, size - hl);
                        form_get(&f, "command");
                        form_free(&f);
                        (void)http_status_text(404);
                }
        }
        /* The whole input as a form and as a header value. */
        struct form f = { 0 };
        form_parse_urlencoded(&f, (const char *)data, size);
        form_free(&f);
        char out[64];
        http_header_param(buf, "name", out, sizeof out);
        free(buf);
        return 0;
}
