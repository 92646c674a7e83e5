/* store_state.c: the per-scan write states, a hash table keyed by scan id (all under s->mu). */
#include "store/store_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every directory put and every queued item looks its scan up, so the lookup is a hash probe,
 * not a walk. States live only while a scan writes (store_impl.h says when they go), so the
 * table holds the scans running now, not every scan that ever failed or was deleted; it grows
 * by doubling at load factor 1 and never shrinks below what it reached (a few pointers).
 */

#define STORE_STATES_MIN 64

static size_t store_state_slot(uint64_t scan_id, size_t nbuckets)
{
	/* Fibonacci hashing: ids are consecutive, and the top bits of the product spread them. */
	uint64_t h = scan_id * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h >> 32) & (nbuckets - 1);
}

struct store_scan_state *store_state_find(struct store *s, uint64_t scan_id)
{
	struct store_states *t = &s->states;
	if (!t->nbuckets)
		return NULL;
	for (struct store_scan_state *st = t->buckets[store_state_slot(scan_id, t->nbuckets)]; st;
	     st = st->next)
		if (st->scan_id == scan_id)
			return st;
	return NULL;
}

/* Doubles the buckets (or makes the first ones); on ENOMEM leaves the table as it was. */
static int store_states_grow(struct store_states *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : STORE_STATES_MIN;
	struct store_scan_state **b = calloc(n, sizeof(*b));
	if (!b)
		return -1;
	for (size_t i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			struct store_scan_state *st = t->buckets[i];
			t->buckets[i] = st->next;
			size_t slot = store_state_slot(st->scan_id, n);
			st->next = b[slot];
			b[slot] = st;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
	return 0;
}

struct store_scan_state *store_state_add(struct store *s, uint64_t scan_id)
{
	struct store_states *t = &s->states;
	struct store_scan_state *st = store_state_find(s, scan_id);
	if (st)
		return st;
	/* A failed growth only lengthens the chains; the first table is needed, though. */
	if (t->count >= t->nbuckets && store_states_grow(t) < 0 && !t->nbuckets)
		return NULL;
	if (!(st = calloc(1, sizeof(*st))))
		return NULL;
	st->scan_id = scan_id;
	size_t slot = store_state_slot(scan_id, t->nbuckets);
	st->next = t->buckets[slot];
	t->buckets[slot] = st;
	t->count++;
	return st;
}

void store_state_prune(struct store *s, struct store_scan_state *st)
{
	if (!st || st->pending || !(st->finished || st->deleted))
		return;
	struct store_states *t = &s->states;
	struct store_scan_state **pp = &t->buckets[store_state_slot(st->scan_id, t->nbuckets)];
	while (*pp != st)
		pp = &(*pp)->next;
	*pp = st->next;
	t->count--;
	free(st->notes);
	free(st->err_msg);
	free(st);
}

void store_state_note(struct store_scan_state *st, const struct store_dir_note *note)
{
	if (st->n_notes == 0)
		st->notes_whole = note->parent == 0; /* a state made after the root lost notes */
	if (!st->notes_whole)
		return;
	if (st->n_notes == st->notes_cap) {
		size_t cap = st->notes_cap ? 2 * st->notes_cap : 64;
		struct store_dir_note *v = cap <= STORE_NOTES_MAX
						   ? realloc(st->notes, cap * sizeof(*v)) : NULL;
		if (!v) {
			free(st->notes);
			st->notes = NULL;
			st->n_notes = st->notes_cap = 0;
			st->notes_whole = false;
			return;
		}
		st->notes = v;
		st->notes_cap = cap;
	}
	st->notes[st->n_notes++] = *note;
}

int store_state_notes(struct store *s, uint64_t scan_id, struct store_dir_note **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->mu);
	struct store_scan_state *st = store_state_find(s, scan_id);
	int rc = -ENODATA;
	if (st && st->notes_whole && !st->deleted && st->n_notes > 0) {
		*out = malloc(st->n_notes * sizeof(**out));
		if (*out) {
			memcpy(*out, st->notes, st->n_notes * sizeof(**out));
			*n = st->n_notes;
			rc = 0;
		} else {
			rc = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void store_states_free(struct store *s)
{
	struct store_states *t = &s->states;
	for (size_t i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			struct store_scan_state *st = t->buckets[i];
			t->buckets[i] = st->next;
			free(st->notes);
			free(st->err_msg);
			free(st);
		}
	}
	free(t->buckets);
	*t = (struct store_states){0};
}
