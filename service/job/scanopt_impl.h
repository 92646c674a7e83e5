/* scanopt_impl.h: what scanopt.c shares with scanopt_cli.c; not for other modules. */
#ifndef LEINDEX_SCANOPT_IMPL_H
#define LEINDEX_SCANOPT_IMPL_H

#include "service/job/scanopt.h"

/** The row named `name`, or NULL. */
const struct scanopt_def *scanopt_find(const struct scanopt_table *t, const char *name);

/** Row `d`'s keyword spelled `name`, or NULL. */
const struct scanopt_keyword *scanopt_keyword_named(const struct scanopt_def *d, const char *name);

/** The number in slot `s` of `target` (a BIT slot: 0 or 1). */
long long scanopt_slot_get(const struct scanopt_slot *s, const void *target);

/** Stores `v` in slot `s` of `target` (a BIT slot: sets the flag when v is not 0). */
void scanopt_slot_set(const struct scanopt_slot *s, void *target, long long v);

/** "field 'workers'" from JSON, "--workers" from the command line. */
void scanopt_subject(const struct scanopt_def *d, enum scanopt_source src, char *buf, size_t cap);

/** Copies `len` bytes of `s` into buf[cap] (cap >= 4), cut before a character with "..." when longer. */
void scanopt_clip(const char *s, size_t len, char *buf, size_t cap);

/** The keywords of `d` as `"a", "b" or "c"` (each in `quote`). */
void scanopt_keywords_text(const struct scanopt_def *d, const char *quote, char *buf, size_t cap);

/** The value of row `d` in `target` as echoed (a new reference; NULL: no memory). */
json_t *scanopt_echo_row(const struct scanopt_table *t, const struct scanopt_def *d,
			 const void *target);

#endif
