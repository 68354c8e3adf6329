/* Unit tests for src/buf.c: the bounds-checked buffer every parser uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"

static void
test_roundtrip(void **state)
{
	struct buf b;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *p;
	size_t len;
	char *s;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_put_u8(&b, 0xab), 0);
	assert_int_equal(buf_put_u16(&b, 0x1234), 0);
	assert_int_equal(buf_put_u32(&b, 0xdeadbeef), 0);
	assert_int_equal(buf_put_u64(&b, 0x0102030405060708ULL), 0);
	assert_int_equal(buf_put_string(&b, "abc", 3), 0);
	assert_int_equal(buf_put_cstring(&b, "hello"), 0);
	assert_int_equal(buf_len(&b), 1 + 2 + 4 + 8 + 7 + 9);
	assert_int_equal(buf_get_u8(&b, &u8), 0);
	assert_int_equal(u8, 0xab);
	assert_int_equal(buf_get_u16(&b, &u16), 0);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(buf_get_u32(&b, &u32), 0);
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(buf_get_u64(&b, &u64), 0);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_int_equal(buf_get_string_direct(&b, &p, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(buf_get_cstring(&b, &s, 100), 0);
	assert_string_equal(s, "hello");
	free(s);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(buf_get_u8(&b, &u8), BUF_ERR_SHORT);
	buf_free(&b);
}

static void
test_short_reads_consume_nothing(void **state)
{
	static const uint8_t data[] = { 0, 0, 0, 9, 'a', 'b' };
	struct buf b;
	const uint8_t *p;
	uint64_t u64;
	uint32_t u32;
	size_t len;

	(void)state;
	buf_view(&b, data, sizeof(data));
	/* The string claims 9 bytes but only 2 follow. */
	assert_int_equal(buf_get_string_direct(&b, &p, &len), BUF_ERR_SHORT);
	assert_int_equal(buf_get_u64(&b, &u64), BUF_ERR_SHORT);
	assert_int_equal(buf_len(&b), sizeof(data));
	assert_int_equal(buf_get_u32(&b, &u32), 0);
	assert_int_equal(u32, 9);
	assert_int_equal(buf_peek_u32(&b, 0, &u32), BUF_ERR_SHORT);
	/* A view is read-only. */
	assert_int_not_equal(buf_put_u8(&b, 1), 0);
}

static void
test_cstring_rejects_nul_and_long(void **state)
{
	static const uint8_t nul[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	static const uint8_t big[] = { 0, 0, 0, 4, 'a', 'b', 'c', 'd' };
	struct buf b;
	char *s = NULL;

	(void)state;
	buf_view(&b, nul, sizeof(nul));
	assert_int_equal(buf_get_cstring(&b, &s, 100), BUF_ERR_FORMAT);
	assert_int_equal(buf_len(&b), sizeof(nul));
	buf_view(&b, big, sizeof(big));
	assert_int_equal(buf_get_cstring(&b, &s, 3), BUF_ERR_FORMAT);
	assert_null(s);
}

static void
test_limit(void **state)
{
	struct buf b;
	uint8_t junk[100] = { 0 };
	int i;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_put(&b, junk, 64), 0);
	assert_int_equal(buf_put_u8(&b, 1), BUF_ERR_TOOBIG);
	/* Consumed space is reclaimed. */
	assert_int_equal(buf_skip(&b, 32), 0);
	assert_int_equal(buf_put(&b, junk, 32), 0);
	assert_int_equal(buf_len(&b), 64);
	buf_free(&b);
	/* Growth through many small writes keeps the content. */
	buf_init(&b, 0);
	buf_set_secret(&b);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_put_u32(&b, (uint32_t)i), 0);
	for (i = 0; i < 10000; i++) {
		uint32_t v;

		assert_int_equal(buf_get_u32(&b, &v), 0);
		assert_int_equal(v, (uint32_t)i);
	}
	buf_free(&b);
}

static void
test_putf(void **state)
{
	struct buf b;
	char big[600];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 0);
	assert_int_equal(buf_putf(&b, "%d-%s", 42, "z"), 0);
	assert_int_equal(buf_putf(&b, "%s", big), 0);
	assert_int_equal(buf_len(&b), 4 + sizeof(big) - 1);
	assert_memory_equal(buf_ptr(&b), "42-z", 4);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_short_reads_consume_nothing),
		cmocka_unit_test(test_cstring_rejects_nul_and_long),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_putf),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
