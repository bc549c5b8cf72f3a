/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the exposition parser. The first byte picks the format; the rest is
 * the body, handed over without a terminating NUL so ASan catches any read past its end. The
 * same bytes, NUL-terminated, also go through the selector parser.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

/* CHECK() is compiled out in release builds; the fuzzer's checks must not be. */
#define CHECK(x)                 \
        do {                     \
                if (!(x))        \
                        abort(); \
        } while (0)

static const char *const selector_texts[] = {
        "go_gc_duration_seconds_count",
        "jvm_memory_bytes_max{area=\"heap\"}",
        "foo",
        "foo_total{a=\"x\\\"y\",b=\"\\n\"}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct promtext_selector sel[4];
        struct promtext_result res[4];
        struct promtext_error err = { 0 };
        enum promtext_format format;
        size_t lines = 1;
        char *s;
        int r;

        if (size < 1)
                return 0;
        format = data[0] & 1 ? PROMTEXT_FORMAT_OPENMETRICS : PROMTEXT_FORMAT_TEXT;
        for (size_t i = 0; i < 4; i++) {
                r = promtext_selector_parse(selector_texts[i], &sel[i]);
                CHECK(r == 0);
                sel[i].skip_negative = i == 1;
        }
        r = promtext_sum((const char *)data + 1, size - 1, format, sel, 4, res, &err);
        for (size_t i = 1; i < size; i++)
                lines += data[i] == '\n';
        if (r < 0) {
                CHECK(r == -EBADMSG);
                CHECK(err.reason[0] != '\0' && memchr(err.reason, '\0', sizeof(err.reason)));
                CHECK(err.line <= lines);
        } else {
                CHECK(r == 0);
                for (size_t i = 0; i < 4; i++)
                        CHECK(res[i].n_samples <= lines);
        }

        s = malloc(size);
        if (!s)
                return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        (void)promtext_selector_parse(s, &sel[0]);
        free(s);
        return 0;
}
