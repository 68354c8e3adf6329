/*
 * json: the few helpers needed to write JSON answers into a buf.  Output
 * only; the daemon never parses JSON.
 */
#ifndef SJ_JSON_H
#define SJ_JSON_H

#include <stdint.h>

#include "buf.h"

/* Append s as a JSON string literal (quoted and escaped); NULL gives null. */
int	json_put_string(struct buf *b, const char *s);
/* Append "key": then the string value. */
int	json_put_kv_string(struct buf *b, const char *key, const char *val);
/* Append "key": then the integer value. */
int	json_put_kv_int(struct buf *b, const char *key, int64_t val);
/* Append "key": then the unsigned integer value. */
int	json_put_kv_uint(struct buf *b, const char *key, uint64_t val);
/* Append "key": then true or false. */
int	json_put_kv_bool(struct buf *b, const char *key, int val);

#endif
