/* ignore_match.c: whether a path is ignored by a stack of rule sets, and the stacks themselves.
 * The rule sets are built by ignore.c; its DESIGN says how the filters below spare wildmatch. */
#include "service/scan/ignore_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Matching                                                                                 */
/* ---------------------------------------------------------------------------------------- */

/** One query: the whole path, its basename, its last byte, the '.' in its basename. */
struct ignore_query {
	const unsigned char *path, *name;
	size_t len, name_len, name_dots;
	unsigned char last;
	bool is_dir;
};

/* memcmp() == 0 for the short runs compared here, without a library call. */
static inline bool ignore_eq(const unsigned char *a, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/*
 * Whether `text` can match `pt` as far as its literal prefix and tail literal tell. The tail was
 * found in what goes to wildmatch: the whole pattern for a basename glob, the part after the
 * prefix for a path pattern (`after_prefix`), so it is checked against the same part of `text`.
 */
static inline bool ignore_filters_pass(const struct ignore_rules *r,
				       const struct ignore_pattern *pt, const unsigned char *text,
				       size_t len, bool after_prefix)
{
	if (pt->prefix > len || !ignore_eq(text, r->arena + pt->off, pt->prefix))
		return false;
	if (after_prefix)
		len -= pt->prefix;
	if (pt->tail_len) {
		if (len < (size_t)pt->tail_len + pt->tail_skip)
			return false;
		text += (after_prefix ? pt->prefix : 0) + len - pt->tail_skip - pt->tail_len;
		if (!ignore_eq(text, r->arena + pt->tail_off, pt->tail_len))
			return false;
	}
	return true;
}

/* Whether pattern `pt` of `r` matches; `rel` is the path relative to the set's directory. */
static bool ignore_pattern_matches(const struct ignore_rules *r, const struct ignore_pattern *pt,
				   const struct ignore_query *q, const unsigned char *rel,
				   size_t rel_len)
{
	const unsigned char *s = r->arena + pt->off;
	switch ((enum ignore_kind)pt->kind) {
	case IGNORE_KIND_NAME_LITERAL:
		return q->name_len == pt->len && ignore_eq(q->name, s, pt->len);
	case IGNORE_KIND_NAME_SUFFIX:
		return q->name_len >= pt->len - 1 &&
		       ignore_eq(q->name + q->name_len - (pt->len - 1), s + 1, pt->len - 1);
	case IGNORE_KIND_NAME_GLOB:
		if (q->name_dots < pt->min_dots ||
		    !ignore_filters_pass(r, pt, q->name, q->name_len, false))
			return false;
		return ignore_wm_match(pt->wm, (const char *)q->name, q->name_len);
	case IGNORE_KIND_PATH:
		if (pt->prefix == pt->len)
			return rel_len == pt->len && ignore_eq(rel, s, pt->len);
		if (!ignore_filters_pass(r, pt, rel, rel_len, true))
			return false;
		return ignore_wm_match(pt->wm, (const char *)rel + pt->prefix, rel_len - pt->prefix);
	}
	return false;
}

static enum ignore_verdict ignore_verdict_of(const struct ignore_pattern *pt)
{
	return (pt->flags & IGNORE_PAT_NEGATIVE) ? IGNORE_INCLUDE : IGNORE_EXCLUDE;
}

/* Rules above the root (ignore_rules_set_lead()): the path from their directory, lead/path. */
static enum ignore_verdict ignore_rules_match_led(const struct ignore_rules *r,
						  const struct ignore_query *q, uint32_t *pat);

/* What one set says: its last matching pattern decides; its index goes to *pat. */
static enum ignore_verdict ignore_rules_match(const struct ignore_rules *r,
					      const struct ignore_query *q, uint32_t *pat)
{
	int d = q->is_dir;
	if (!ignore_bit_test(r->lastmask[d], q->last))
		return IGNORE_NONE;
	if (r->lead)
		return ignore_rules_match_led(r, q, pat);
	const unsigned char *rel = q->path;
	size_t rel_len = q->len;
	if (r->base_len) {
		/* Rules apply only below their own directory. */
		if (q->len <= r->base_len || q->path[r->base_len] != '/' ||
		    memcmp(q->path, r->base, r->base_len) != 0)
			return IGNORE_NONE;
		rel += r->base_len + 1;
		rel_len -= r->base_len + 1;
	}
	const struct ignore_index *ix = r->index;
	if (!ix) {
		for (size_t i = r->count; i-- > 0;) {
			const struct ignore_pattern *pt = &r->pats[i];
			if ((pt->flags & IGNORE_PAT_DIRONLY) && !q->is_dir)
				continue;
			if (!ignore_bit_test(pt->lastset, q->last))
				continue;
			if (ignore_pattern_matches(r, pt, q, rel, rel_len)) {
				*pat = (uint32_t)i;
				return ignore_verdict_of(pt);
			}
		}
		return IGNORE_NONE;
	}
	/* Merge the three descending lists: the highest pattern number that matches wins. */
	const struct ignore_bytelists *bl = &ix->by_last[d], *bf = &ix->by_first[d];
	const uint32_t *l = bl->ids + bl->off[q->last], *lend = bl->ids + bl->off[q->last + 1];
	const uint32_t *f = bf->ids + bf->off[q->name[0]], *fend = bf->ids + bf->off[q->name[0] + 1];
	const uint32_t *a = ix->any[d], *aend = a + ix->nany[d];
	for (;;) {
		uint32_t i, li = l < lend ? *l + 1 : 0, fi = f < fend ? *f + 1 : 0;
		uint32_t ai = a < aend ? *a + 1 : 0;
		if (li >= fi && li >= ai && li) {
			i = *l++;
		} else if (fi >= ai && fi) {
			i = *f++;
		} else if (ai) {
			i = *a++;
		} else {
			break;
		}
		const struct ignore_pattern *pt = &r->pats[i];
		if (ignore_bit_test(pt->lastset, q->last) &&
		    ignore_pattern_matches(r, pt, q, rel, rel_len)) {
			*pat = i;
			return ignore_verdict_of(pt);
		}
	}
	return IGNORE_NONE;
}

static enum ignore_verdict ignore_rules_match_led(const struct ignore_rules *r,
						  const struct ignore_query *q, uint32_t *pat)
{
	/* Rare (rules above the root, view git): one copy of the path per query. */
	unsigned char stack_buf[1024], *buf = stack_buf;
	size_t len = r->lead_len + 1 + q->len;
	if (len > sizeof(stack_buf) && !(buf = malloc(len)))
		return IGNORE_NONE; /* no memory: as if no pattern matched (documented in ignore.h) */
	memcpy(buf, r->lead, r->lead_len);
	buf[r->lead_len] = '/';
	memcpy(buf + r->lead_len + 1, q->path, q->len);
	struct ignore_query lq = *q;
	lq.path = buf;
	lq.len = len;
	lq.name = buf + len - q->name_len;
	struct ignore_rules plain = *r;
	plain.lead = NULL;
	enum ignore_verdict v = ignore_rules_match(&plain, &lq, pat);
	if (buf != stack_buf)
		free(buf);
	return v;
}

enum ignore_verdict ignore_stack_why(const struct ignore_stack *stack, const char *path,
				     size_t len, bool is_dir, struct ignore_why *why)
{
	if (!stack || len == 0)
		return IGNORE_NONE;
	struct ignore_query q = {
		.path = (const unsigned char *)path,
		.len = len,
		.last = (unsigned char)path[len - 1],
		.is_dir = is_dir,
	};
	/* Names are short: a plain loop beats the library calls. */
	size_t b = len;
	while (b > 0 && q.path[b - 1] != '/')
		b--;
	q.name = q.path + b;
	q.name_len = len - b;
	if (q.name_len == 0)
		return IGNORE_NONE; /* a trailing '/': not a path this API takes */
	for (size_t i = b; i < len; i++)
		q.name_dots += q.path[i] == '.';

	enum ignore_verdict v;
	uint32_t pat = 0;
	const struct ignore_stack *s;
	if (stack->any_override)
		for (s = stack; s; s = s->parent)
			if (s->override && (v = ignore_rules_match(s->rules, &q, &pat)) != IGNORE_NONE)
				goto found;
	for (s = stack; s; s = s->parent)
		if (!s->override && (v = ignore_rules_match(s->rules, &q, &pat)) != IGNORE_NONE)
			goto found;
	return IGNORE_NONE;
found:
	if (why) {
		why->rules = s->rules;
		why->pat = pat;
	}
	return v;
}

bool ignore_stack_excluded(const struct ignore_stack *stack, const char *path, size_t len,
			   bool is_dir)
{
	return ignore_stack_why(stack, path, len, is_dir, NULL) == IGNORE_EXCLUDE;
}

/* ---------------------------------------------------------------------------------------- */
/* Stacks                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static struct ignore_stack *ignore_stack_node(struct ignore_stack *parent,
					      struct ignore_rules *rules, bool override)
{
	if (!rules)
		return ignore_stack_ref(parent);
	/* An empty set changes nothing: share the parent instead of a node. */
	if (parent && rules->count == 0) {
		ignore_rules_destroy(rules);
		return ignore_stack_ref(parent);
	}
	struct ignore_stack *s = malloc(sizeof(*s));
	if (!s) {
		ignore_rules_destroy(rules);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	s->parent = ignore_stack_ref(parent);
	s->rules = rules;
	s->override = override;
	s->any_override = override || (parent && parent->any_override);
	return s;
}

struct ignore_stack *ignore_stack_push(struct ignore_stack *parent, struct ignore_rules *rules)
{
	return ignore_stack_node(parent, rules, false);
}

struct ignore_stack *ignore_stack_push_override(struct ignore_stack *parent,
						struct ignore_rules *rules)
{
	return ignore_stack_node(parent, rules, true);
}

struct ignore_stack *ignore_stack_ref(struct ignore_stack *stack)
{
	if (stack)
		atomic_fetch_add_explicit(&stack->refs, 1, memory_order_relaxed);
	return stack;
}

void ignore_stack_unref(struct ignore_stack *stack)
{
	/* A loop, not recursion: a deep tree gives a long parent chain. */
	while (stack) {
		if (atomic_fetch_sub_explicit(&stack->refs, 1, memory_order_acq_rel) != 1)
			return;
		struct ignore_stack *parent = stack->parent;
		ignore_rules_destroy(stack->rules);
		free(stack);
		stack = parent;
	}
}

