/*
 * table: column-aligned text (see table.h).  Widths are computed over all
 * rows at render time; the last column is never padded.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

static void
table_add(struct table *t, va_list ap)
{
	char **cells;
	int i;

	if (t->failed)
		return;
	cells = realloc(t->cells, (t->nrows + 1) * (size_t)t->ncols *
	    sizeof(*cells));
	if (cells == NULL) {
		t->failed = 1;
		return;
	}
	t->cells = cells;
	for (i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		cells[t->nrows * (size_t)t->ncols + (size_t)i] =
		    strdup(s ? s : "");
		if (cells[t->nrows * (size_t)t->ncols + (size_t)i] == NULL)
			t->failed = 1;
	}
	t->nrows++;
}

void
table_init(struct table *t, int ncols, ...)
{
	va_list ap;

	memset(t, 0, sizeof(*t));
	t->ncols = ncols > TABLE_MAX_COLS ? TABLE_MAX_COLS : ncols;
	va_start(ap, ncols);
	table_add(t, ap);
	va_end(ap);
}

void
table_row(struct table *t, ...)
{
	va_list ap;

	va_start(ap, t);
	table_add(t, ap);
	va_end(ap);
}

void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

int
table_render(struct table *t, struct buf *out)
{
	size_t width[TABLE_MAX_COLS] = { 0 }, r, n;
	int c, ret = 0;

	if (t->failed) {
		table_free(t);
		return BUF_ERR_NOMEM;
	}
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			n = strlen(t->cells[r * (size_t)t->ncols + (size_t)c]);
			if (n > width[c])
				width[c] = n;
		}
	for (r = 0; r < t->nrows && ret == 0; r++) {
		for (c = 0; c < t->ncols && ret == 0; c++) {
			const char *s = t->cells[r * (size_t)t->ncols +
			    (size_t)c];

			if (c == t->ncols - 1)
				ret = buf_putf(out, "%s", s);
			else
				ret = buf_putf(out, "%-*s  ", (int)width[c], s);
		}
		/* An empty last column leaves padding: no trailing blanks. */
		while (ret == 0 && out->len > 0 && out->data[out->len - 1] == ' ')
			out->len--;
		if (ret == 0)
			ret = buf_put_u8(out, '\n');
	}
	table_free(t);
	return ret;
}
