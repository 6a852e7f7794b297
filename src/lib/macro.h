/* macro.h - small attribute and arithmetic helpers shared by the library and the commands
 */
#ifndef FDX_MACRO_H
#define FDX_MACRO_H

#include <stdbool.h>
#include <stdint.h>

#define FDX_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _printf_(a, b)	  __attribute__((format(printf, a, b)))
#define _must_check_	  __attribute__((warn_unused_result))
#define _unused_	  __attribute__((unused))

/* Checked 64-bit arithmetic: true when the result does not fit. */
static inline bool fdx_add_overflow(uint64_t a, uint64_t b, uint64_t *res)
{
	return __builtin_add_overflow(a, b, res);
}

static inline bool fdx_mul_overflow(uint64_t a, uint64_t b, uint64_t *res)
{
	return __builtin_mul_overflow(a, b, res);
}

#endif
