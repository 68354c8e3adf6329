/*
 * json: string escaping for JSON output (RFC 8259).  Bytes that are not
 * printable ASCII are escaped, so the output is valid whatever the input.
 */
#include <stdio.h>
#include <inttypes.h>

#include "json.h"

int
json_put_string(struct buf *b, const char *s)
{
	const unsigned char *p;
	int r;

	if (s == NULL)
		return buf_put(b, "null", 4);
	if ((r = buf_put_u8(b, '"')) != 0)
		return r;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			r = buf_putf(b, "\\%c", *p);
		else if (*p == '\n')
			r = buf_put(b, "\\n", 2);
		else if (*p < 0x20 || *p >= 0x7f)
			r = buf_putf(b, "\\u%04x", *p);
		else
			r = buf_put_u8(b, *p);
		if (r != 0)
			return r;
	}
	return buf_put_u8(b, '"');
}

int
json_put_kv_string(struct buf *b, const char *key, const char *val)
{
	int r;

	if ((r = json_put_string(b, key)) != 0 ||
	    (r = buf_put_u8(b, ':')) != 0)
		return r;
	return json_put_string(b, val);
}

int
json_put_kv_int(struct buf *b, const char *key, int64_t val)
{
	int r;

	if ((r = json_put_string(b, key)) != 0)
		return r;
	return buf_putf(b, ":%" PRId64, val);
}

int
json_put_kv_uint(struct buf *b, const char *key, uint64_t val)
{
	int r;

	if ((r = json_put_string(b, key)) != 0)
		return r;
	return buf_putf(b, ":%" PRIu64, val);
}

int
json_put_kv_bool(struct buf *b, const char *key, int val)
{
	int r;

	if ((r = json_put_string(b, key)) != 0)
		return r;
	return buf_putf(b, ":%s", val ? "true" : "false");
}
