/* SPDX-License-Identifier: MIT */
/* textbuf.c - see textbuf.h */
#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ls_text_add(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strnlen(buf, size);
	va_list ap;

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}
