/* SPDX-License-Identifier: MIT */
#include <math.h>

#include "json-number.h"

#define EXACT_MAX 9007199254740992.0 /* 2^53: every whole double below it is exact */

json_t *json_number_of(double v)
{
        if (!isfinite(v))
                return NULL;
        if (v == floor(v) && fabs(v) < EXACT_MAX)
                return json_integer((json_int_t)v);
        return json_real(v);
}
