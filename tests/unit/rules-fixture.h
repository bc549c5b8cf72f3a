/* SPDX-License-Identifier: MIT */
#pragma once

/* What the rules tests (test-rules*.c) share: sizes and the mark of a missing figure. */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"
#include "util.h"

#define MiB  (1024.0 * 1024.0)
#define GiB  (1024.0 * MiB)
#define NONE (-1.0) /* a missing figure in the tables */
