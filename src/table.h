/*
 * table: aligned text tables for terminal output (securejeebsctl answers).
 */
#ifndef SJ_TABLE_H
#define SJ_TABLE_H

#include <stddef.h>

#include "buf.h"

#define TABLE_MAX_COLS	20

struct table {
	int		 ncols;
	size_t		 nrows;		/* header included */
	char		**cells;	/* nrows * ncols copies */
	int		 failed;	/* an allocation failed */
};

/* Start a table with ncols columns and their headings. */
void	table_init(struct table *t, int ncols, ...);
/* Add a row of ncols strings (copied). */
void	table_row(struct table *t, ...);
/* Append the table, columns aligned, to out, and free it. */
int	table_render(struct table *t, struct buf *out);
/* Free a table without rendering it. */
void	table_free(struct table *t);

#endif
