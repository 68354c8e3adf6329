/*
 * Unit tests for src/table.c, the aligned tables of securejeebsctl's text
 * output: columns padded to the widest cell plus two spaces, the last
 * column never padded, and no line ends in blanks (an empty last cell).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "table.h"

static void
test_alignment(void **state)
{
	struct table t;
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	table_init(&t, 3, "SERVER", "STATE", "WHY NOT");
	table_row(&t, "web1", "alive", "");
	table_row(&t, "a-longer-name", "dead", "client data unanswered");
	assert_int_equal(table_render(&t, &b), 0);
	assert_int_equal(buf_put_u8(&b, '\0'), 0);
	assert_string_equal((const char *)buf_ptr(&b),
	    "SERVER         STATE  WHY NOT\n"
	    "web1           alive\n"
	    "a-longer-name  dead   client data unanswered\n");
	buf_free(&b);
}

static void
test_empty_middle(void **state)
{
	struct table t;
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	table_init(&t, 3, "A", "B", "C");
	table_row(&t, "x", "", "");
	table_row(&t, "", "", "z");
	assert_int_equal(table_render(&t, &b), 0);
	assert_int_equal(buf_put_u8(&b, '\0'), 0);
	assert_string_equal((const char *)buf_ptr(&b),
	    "A  B  C\n"
	    "x\n"
	    "      z\n");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_empty_middle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
