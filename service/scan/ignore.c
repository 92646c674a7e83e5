/* ignore.c: gitignore rule sets, parsed and indexed the way git matches them (the matching
 * itself is in ignore_match.c). */
#include "service/scan/ignore_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * DESIGN
 *
 * Semantics follow git (dir.c and wildmatch.c, as of git 2.39), re-implemented from their
 * documented and tested behaviour:
 *
 * - A pattern with no '/' (a trailing one aside) is matched against the basename only, at any
 *   depth below its file's directory. A literal one is compared with memcmp, "*literal" by suffix,
 *   anything else with wildmatch() without WM_PATHNAME.
 * - A pattern with a '/' at the start or in the middle is matched against the path relative to
 *   its file's directory: one leading '/' is dropped, the literal prefix (bytes before the first
 *   of `*?[\`) is compared with memcmp, and the rest goes to wildmatch() with WM_PATHNAME. That
 *   split matters: "foo**" + "/bar" treats the "**" as a real "**" once "foo" is cut off, as git
 *   does.
 * - What goes to wildmatch() is compiled once, when the line is parsed (struct ignore_wm, kept in
 *   the pattern record), and matched in time bounded by pattern length x path length.
 * - Within a set the last matching pattern decides; the first set that has a match decides, in
 *   the order override sets (latest first), then file sets deepest first.
 *
 * Speed: ignore_stack_excluded() runs once per scanned entry, so each pattern is studied once,
 * when parsed, for cheap necessary conditions: the set of bytes a matching path can end with
 * (from its last token: a literal, a bracket expression, '?' or '*'), and a literal run that
 * must sit at a known distance from the end (".asn1." in "*.asn1.[ch]"). Each set keeps the
 * union of its patterns' last bytes, so most sets are dismissed by one bit test; a set with more
 * than IGNORE_INDEX_MIN patterns also lists, per "is a directory", the patterns under each byte
 * they can end with, the basename globs that can end in almost anything under their literal
 * first byte (".*", "cscope.*"), and the rest in one list; a query merges the three descending
 * lists, so "*.o" is never tried on "main.c". A basename glob also records how many literal '.'
 * it needs ("*.o.*" needs two). wildmatch runs only when these filters pass. Nothing on the
 * match path allocates, and stacks are immutable once built: any number of threads may query
 * one; references are atomic.
 */

/* ---------------------------------------------------------------------------------------- */
/* Rule sets                                                                                */
/* ---------------------------------------------------------------------------------------- */

static inline bool ignore_is_special(unsigned char c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

/** Length of the leading run of bytes that are not `*?[\` (git's "simple length"). */
static size_t ignore_simple_length(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n && !ignore_is_special(s[i]))
		i++;
	return i;
}

static unsigned ignore_bit_count(const uint8_t set[32])
{
	unsigned n = 0;
	for (int i = 0; i < 32; i++)
		n += (unsigned)__builtin_popcount(set[i]);
	return n;
}

/** What ignore_shape() learns of a wildmatch pattern. */
struct ignore_shape {
	uint8_t lastset[32];
	size_t tail_len, tail_skip; /**< the literal run is written to the caller's buffer */
	size_t dots;                /**< literal '.' tokens in the whole pattern */
};

/*
 * The tokens of the last star-free run of wildmatch pattern s[0..n) into tok (n entries): a
 * byte, or -1 for '?' or a bracket expression, whose bytes go to `last_class`. *first is 1 when
 * the run's leading '/' may be swallowed by the "**" before it. Counts literal '.' in out->dots.
 * -1 when the pattern can match nothing (see ignore_shape()).
 */
static int ignore_shape_tokens(const unsigned char *s, size_t n, bool pathname, int *tok,
			       size_t *ntok, size_t *first, uint8_t last_class[32],
			       struct ignore_shape *out)
{
	*ntok = 0;
	bool drop_slash = false;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c == '*') {
			size_t j = i;
			while (j < n && s[j] == '*')
				j++;
			drop_slash = pathname && j - i >= 2 && (i == 0 || s[i - 1] == '/') && j < n &&
				     s[j] == '/';
			*ntok = 0;
			i = j;
			continue;
		}
		if (c == '\\') {
			if (i + 1 == n)
				return -1;
			tok[(*ntok)++] = s[i + 1];
			out->dots += s[i + 1] == '.';
			i += 2;
		} else if (c == '?') {
			tok[(*ntok)++] = -1;
			memset(last_class, 0xff, 32);
			i++;
		} else if (c == '[') {
			const unsigned char *close;
			if (wildmatch_bracket_set(s + i, s + n, last_class, &close) < 0)
				return -1;
			tok[(*ntok)++] = -1;
			i = (size_t)(close - s) + 1;
		} else {
			tok[(*ntok)++] = c;
			out->dots += c == '.';
			i++;
		}
	}
	*first = drop_slash ? 1 : 0;
	return 0;
}

/* From the tokens tok[first..ntok) of the last run: the bytes a match ends with, and the longest
 * literal run (written to `tail`) with the number of tokens after it. */
static void ignore_shape_tail(const int *tok, size_t ntok, size_t first,
			      const uint8_t last_class[32], unsigned char *tail,
			      struct ignore_shape *out)
{
	if (ntok <= first) {
		memset(out->lastset, 0xff, sizeof(out->lastset)); /* ends in a star */
	} else if (tok[ntok - 1] >= 0) {
		ignore_bit_set(out->lastset, (unsigned char)tok[ntok - 1]);
	} else {
		memcpy(out->lastset, last_class, sizeof(out->lastset));
	}
	size_t best = 0, best_end = 0;
	for (size_t i = first; i < ntok;) {
		if (tok[i] < 0) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < ntok && tok[j] >= 0)
			j++;
		if (j - i >= best) {
			best = j - i;
			best_end = j;
		}
		i = j;
	}
	for (size_t i = 0; i < best; i++)
		tail[i] = (unsigned char)tok[best_end - best + i];
	out->tail_len = best;
	out->tail_skip = ntok - best_end;
}

/*
 * Reads wildmatch pattern s[0..n) as the matcher will, to find necessary conditions on the text
 * (see DESIGN). Only the tokens after the last '*' have fixed positions from the end; a "**"
 * followed by '/' may match no directory and swallow that '/', so then the '/' does not count.
 * `tail` (n bytes) receives the longest literal run among them. Returns -1 when the pattern can
 * match nothing: a trailing lone '\', or a malformed bracket expression (git aborts on reaching
 * it, and reaching it is the only way to finish the pattern); -ENOMEM.
 */
static int ignore_shape(const unsigned char *s, size_t n, bool pathname, unsigned char *tail,
			struct ignore_shape *out)
{
	int tok_buf[64], *tok = n <= 64 ? tok_buf : malloc(n * sizeof(*tok));
	if (!tok)
		return -ENOMEM;
	size_t ntok, first;
	uint8_t last_class[32];
	memset(out, 0, sizeof(*out));
	int rc = ignore_shape_tokens(s, n, pathname, tok, &ntok, &first, last_class, out);
	if (rc == 0)
		ignore_shape_tail(tok, ntok, first, last_class, tail, out);
	if (tok != tok_buf)
		free(tok);
	return rc;
}

/*
 * git's trim_trailing_spaces(): drops the run of ' ' at the end unless the first of them is
 * escaped by a backslash (which stays in the pattern, where it matches a literal space).
 */
static size_t ignore_trim_spaces(const unsigned char *s, size_t n)
{
	size_t keep = n;
	bool in_run = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ') {
			if (!in_run) {
				keep = i;
				in_run = true;
			}
			continue;
		}
		if (s[i] == '\\' && ++i == n)
			return n; /* a trailing backslash: git leaves the line alone */
		in_run = false;
	}
	return in_run ? keep : n;
}

static int ignore_rules_grow(struct ignore_rules *r, size_t bytes, struct errbuf *err)
{
	if (r->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct ignore_pattern *p = realloc(r->pats, cap * sizeof(*p));
		if (!p)
			return errbuf_errno(err, ENOMEM, "growing the pattern list");
		r->pats = p;
		r->cap = cap;
	}
	if (r->arena_len + bytes > r->arena_cap) {
		size_t cap = r->arena_cap ? r->arena_cap : 256;
		while (cap < r->arena_len + bytes)
			cap *= 2;
		unsigned char *a = realloc(r->arena, cap);
		if (!a)
			return errbuf_errno(err, ENOMEM, "growing the pattern text");
		r->arena = a;
		r->arena_cap = cap;
	}
	return 0;
}

/*
 * Reads one line (without its line end) as git's add_pattern() does: comments and empty lines
 * are skipped, the line stops at a NUL byte, trailing spaces are trimmed, then "!" negates and a
 * trailing "/" makes it directory-only. Leaves the pattern in *s, *n; false: no pattern.
 */
static bool ignore_line_clean(const unsigned char **s, size_t *n, unsigned *flags)
{
	if (*n == 0 || (*s)[0] == '#')
		return false;
	const unsigned char *nul = memchr(*s, '\0', *n);
	if (nul)
		*n = (size_t)(nul - *s);
	*n = ignore_trim_spaces(*s, *n);
	*flags = 0;
	if (*n && (*s)[0] == '!') {
		*flags |= IGNORE_PAT_NEGATIVE;
		(*s)++;
		(*n)--;
	}
	if (*n && (*s)[*n - 1] == '/') {
		*flags |= IGNORE_PAT_DIRONLY;
		(*n)--;
	}
	return true;
}

/* How pattern s[0..n) is compared (see DESIGN); drops the leading '/' of an anchored one. */
static enum ignore_kind ignore_line_kind(const unsigned char **s, size_t *n, size_t *prefix,
					 bool *rooted)
{
	*rooted = false;
	*prefix = ignore_simple_length(*s, *n);
	if (!memchr(*s, '/', *n)) {
		if (*prefix == *n)
			return IGNORE_KIND_NAME_LITERAL;
		if ((*s)[0] == '*' && ignore_simple_length(*s + 1, *n - 1) == *n - 1)
			return IGNORE_KIND_NAME_SUFFIX;
		return IGNORE_KIND_NAME_GLOB;
	}
	if ((*s)[0] == '/') {
		(*s)++;
		(*n)--;
		(*prefix)--;
		*rooted = true;
	}
	return IGNORE_KIND_PATH;
}

/*
 * Studies pattern s[0..n) once for the filters of the match path (see DESIGN): the bytes a match
 * ends with, and for globs a literal run it ends near, written to `tail`. 1: the pattern can
 * never match; 0; or -ENOMEM.
 */
static int ignore_pattern_study(struct ignore_pattern *pt, const unsigned char *s, size_t n,
				unsigned char *tail, uint32_t tail_off)
{
	enum ignore_kind kind = pt->kind;
	if (kind == IGNORE_KIND_NAME_LITERAL || (kind == IGNORE_KIND_PATH && pt->prefix == n)) {
		ignore_bit_set(pt->lastset, s[n - 1]);
		return 0;
	}
	if (kind == IGNORE_KIND_NAME_SUFFIX) {
		if (n > 1)
			ignore_bit_set(pt->lastset, s[n - 1]);
		else
			memset(pt->lastset, 0xff, sizeof(pt->lastset));
		return 0;
	}
	bool path = kind == IGNORE_KIND_PATH;
	size_t from = path ? pt->prefix : 0;
	struct ignore_shape shape;
	int rc = ignore_shape(s + from, n - from, path, tail, &shape);
	if (rc == -1)
		return 1;
	if (rc < 0)
		return rc;
	memcpy(pt->lastset, shape.lastset, sizeof(pt->lastset));
	pt->tail_off = tail_off;
	pt->tail_len = (uint32_t)shape.tail_len;
	pt->tail_skip = (uint32_t)shape.tail_skip;
	if (!path)
		pt->min_dots = (uint8_t)(shape.dots > 255 ? 255 : shape.dots);
	return 0;
}

/* Adds one line (without its line end) as git's add_pattern() would (see ignore_line_clean()). */
static int ignore_rules_add_line(struct ignore_rules *r, const unsigned char *s, size_t n,
				 size_t line, struct errbuf *err)
{
	unsigned flags;
	if (!ignore_line_clean(&s, &n, &flags))
		return 0;
	r->lines++;
	size_t prefix;
	bool rooted;
	enum ignore_kind kind = ignore_line_kind(&s, &n, &prefix, &rooted);
	if (rooted)
		flags |= IGNORE_PAT_ROOTED;
	/* An empty pattern matches nothing: git compares it with a non-empty name. */
	if (n == 0)
		return 0;
	if (n > UINT32_MAX / 2 || r->arena_len > UINT32_MAX - 2 * n)
		return errbuf_set(err, -EFBIG, "the patterns exceed 4 GiB");
	int rc = ignore_rules_grow(r, 2 * n, err); /* the pattern, then its tail literal */
	if (rc < 0)
		return rc;
	struct ignore_pattern pt = {
		.off = (uint32_t)r->arena_len,
		.len = (uint32_t)n,
		.prefix = (uint32_t)prefix,
		.kind = (uint8_t)kind,
		.flags = (uint8_t)flags,
		.line = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line,
	};
	rc = ignore_pattern_study(&pt, s, n, r->arena + r->arena_len + n,
				  (uint32_t)(r->arena_len + n));
	if (rc < 0)
		return errbuf_errno(err, -rc, "studying the pattern");
	if (rc > 0)
		return 0; /* can never match */
	if (kind == IGNORE_KIND_NAME_GLOB || (kind == IGNORE_KIND_PATH && prefix < n)) {
		size_t from = kind == IGNORE_KIND_PATH ? prefix : 0;
		rc = ignore_wm_compile(&pt.wm, (const char *)s + from, n - from,
				       kind == IGNORE_KIND_PATH ? IGNORE_WM_PATHNAME : 0, err);
		if (rc < 0)
			return rc;
	}
	memcpy(r->arena + r->arena_len, s, n);
	r->arena_len += n + pt.tail_len;
	for (int i = 0; i < 32; i++) {
		r->lastmask[1][i] |= pt.lastset[i];
		if (!(flags & IGNORE_PAT_DIRONLY))
			r->lastmask[0][i] |= pt.lastset[i];
	}
	r->pats[r->count++] = pt;
	return 0;
}

/** Where the index lists a pattern. */
enum ignore_listing { IGNORE_LIST_NONE, IGNORE_LIST_LAST, IGNORE_LIST_FIRST, IGNORE_LIST_ANY };

static enum ignore_listing ignore_listing_of(const struct ignore_pattern *p, int d)
{
	if (!d && (p->flags & IGNORE_PAT_DIRONLY))
		return IGNORE_LIST_NONE;
	if (ignore_bit_count(p->lastset) <= IGNORE_INDEX_MAX_LAST)
		return IGNORE_LIST_LAST;
	if (p->kind == IGNORE_KIND_NAME_GLOB && p->prefix > 0)
		return IGNORE_LIST_FIRST;
	return IGNORE_LIST_ANY;
}

/* Fills `bl` with the patterns of listing `how`, under the bytes of their lastset or first byte. */
static int ignore_bytelists_build(const struct ignore_rules *r, int d, enum ignore_listing how,
				  struct ignore_bytelists *bl)
{
	/* Counting sort; walking patterns backwards keeps each list descending. */
	uint32_t counts[256] = {0};
	size_t total = 0;
	for (int pass = 0; pass < 2; pass++) {
		uint32_t fill[256];
		if (pass == 1) {
			if (total > UINT32_MAX)
				return -EFBIG;
			bl->ids = malloc((total ? total : 1) * sizeof(uint32_t));
			if (!bl->ids)
				return -ENOMEM;
			bl->off[0] = 0;
			for (int c = 0; c < 256; c++)
				bl->off[c + 1] = bl->off[c] + counts[c];
			memcpy(fill, bl->off, sizeof(fill));
		}
		for (size_t i = r->count; i-- > 0;) {
			const struct ignore_pattern *p = &r->pats[i];
			if (ignore_listing_of(p, d) != how)
				continue;
			for (unsigned c = 0; c < 256; c++) {
				bool listed = how == IGNORE_LIST_LAST
						      ? ignore_bit_test(p->lastset, (unsigned char)c)
						      : r->arena[p->off] == c;
				if (!listed)
					continue;
				if (pass == 0) {
					counts[c]++;
					total++;
				} else {
					bl->ids[fill[c]++] = (uint32_t)i;
				}
			}
		}
	}
	return 0;
}

/* Builds the index of a large set (see DESIGN). */
static int ignore_rules_index(struct ignore_rules *r, struct errbuf *err)
{
	if (r->count <= IGNORE_INDEX_MIN)
		return 0;
	int rc = -ENOMEM;
	struct ignore_index *ix = calloc(1, sizeof(*ix));
	if (!ix)
		goto fail;
	r->index = ix;
	for (int d = 0; d < 2; d++) {
		if ((rc = ignore_bytelists_build(r, d, IGNORE_LIST_LAST, &ix->by_last[d])) < 0 ||
		    (rc = ignore_bytelists_build(r, d, IGNORE_LIST_FIRST, &ix->by_first[d])) < 0)
			goto fail;
		rc = -ENOMEM;
		ix->any[d] = malloc(r->count * sizeof(uint32_t));
		if (!ix->any[d])
			goto fail;
		for (size_t i = r->count; i-- > 0;)
			if (ignore_listing_of(&r->pats[i], d) == IGNORE_LIST_ANY)
				ix->any[d][ix->nany[d]++] = (uint32_t)i;
	}
	return 0;
fail:
	return errbuf_errno(err, -rc, "indexing the rules");
}

static int ignore_rules_new(struct ignore_rules **out, const char *base, size_t base_len,
			    struct errbuf *err)
{
	*out = NULL;
	while (base_len && base[base_len - 1] == '/')
		base_len--;
	struct ignore_rules *r = calloc(1, sizeof(*r));
	if (r)
		r->base = malloc(base_len + 1);
	if (!r || !r->base) {
		free(r);
		return errbuf_errno(err, ENOMEM, "allocating a rule set");
	}
	if (base_len)
		memcpy(r->base, base, base_len);
	r->base[base_len] = '\0';
	r->base_len = base_len;
	*out = r;
	return 0;
}

int ignore_rules_parse(struct ignore_rules **out, const char *text, size_t len, const char *base,
		       size_t base_len, struct errbuf *err)
{
	struct ignore_rules *r;
	int rc = ignore_rules_new(&r, base ? base : "", base ? base_len : 0, err);
	if (rc < 0)
		return rc;
	const unsigned char *s = (const unsigned char *)text, *end = s + len;
	if (len >= 3 && s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		s += 3; /* a UTF-8 byte order mark, as git skips it */
	for (size_t line = 1; s < end; line++) {
		const unsigned char *nl = memchr(s, '\n', (size_t)(end - s));
		const unsigned char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - s);
		/* The comment test sees the raw line; the CR of a CRLF goes before trimming. */
		if (n && s[0] != '#' && s[n - 1] == '\r')
			n--;
		rc = ignore_rules_add_line(r, s, n, line, err);
		if (rc < 0) {
			errbuf_prefix(err, "line %zu", line);
			goto fail;
		}
		s = nl ? nl + 1 : end;
	}
	rc = ignore_rules_index(r, err);
	if (rc < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	ignore_rules_destroy(r);
	return rc;
}

int ignore_rules_from_patterns(struct ignore_rules **out, const char *const *patterns,
			       size_t count, struct errbuf *err)
{
	struct ignore_rules *r;
	int rc = ignore_rules_new(&r, "", 0, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < count; i++) {
		if (!patterns[i])
			continue;
		rc = ignore_rules_add_line(r, (const unsigned char *)patterns[i], strlen(patterns[i]),
					   i + 1, err);
		if (rc < 0) {
			errbuf_prefix(err, "pattern %zu", i + 1);
			goto fail;
		}
	}
	rc = ignore_rules_index(r, err);
	if (rc < 0)
		goto fail;
	r->source = IGNORE_SRC_OPTION;
	if (!(r->label = strdup("option"))) {
		rc = errbuf_errno(err, ENOMEM, "naming the rule set");
		goto fail;
	}
	*out = r;
	return 0;
fail:
	errbuf_prefix(err, "parsing the ignore option patterns");
	ignore_rules_destroy(r);
	return rc;
}

void ignore_rules_destroy(struct ignore_rules *rules)
{
	if (!rules)
		return;
	if (rules->index)
		for (int d = 0; d < 2; d++) {
			free(rules->index->by_last[d].ids);
			free(rules->index->by_first[d].ids);
			free(rules->index->any[d]);
		}
	free(rules->index);
	for (size_t i = 0; i < rules->count; i++)
		ignore_wm_destroy(rules->pats[i].wm);
	free(rules->pats);
	free(rules->arena);
	free(rules->base);
	free(rules->label);
	free(rules->lead);
	free(rules);
}

int ignore_rules_set_source(struct ignore_rules *rules, enum ignore_source kind, const char *label)
{
	char *copy = strdup(label ? label : "");
	if (!copy)
		return -ENOMEM;
	free(rules->label);
	rules->label = copy;
	rules->source = kind;
	return 0;
}

int ignore_rules_set_lead(struct ignore_rules *rules, const char *lead, size_t lead_len)
{
	char *copy = malloc(lead_len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, lead, lead_len);
	copy[lead_len] = '\0';
	free(rules->lead);
	rules->lead = lead_len ? copy : NULL;
	rules->lead_len = lead_len;
	if (!lead_len)
		free(copy);
	return 0;
}

const char *ignore_rules_source(const struct ignore_rules *rules, enum ignore_source *kind)
{
	if (kind)
		*kind = rules->source;
	return rules->label ? rules->label : "";
}

bool ignore_rules_mark_used(const struct ignore_rules *rules)
{
	struct ignore_rules *r = (struct ignore_rules *)rules; /* the flag is the one mutable field */
	if (atomic_load_explicit(&r->used, memory_order_relaxed))
		return false;
	return !atomic_exchange_explicit(&r->used, true, memory_order_relaxed);
}

uint32_t ignore_why_line(const struct ignore_why *why)
{
	return why->rules->pats[why->pat].line;
}

size_t ignore_why_pattern(const struct ignore_why *why, char *buf, size_t cap)
{
	const struct ignore_pattern *pt = &why->rules->pats[why->pat];
	size_t n = 0;
	const char *pre = (pt->flags & IGNORE_PAT_NEGATIVE) ? "!" : "";
	const char *slash = (pt->flags & IGNORE_PAT_ROOTED) ? "/" : "";
	const char *post = (pt->flags & IGNORE_PAT_DIRONLY) ? "/" : "";
	const char *parts[4] = {pre, slash, (const char *)why->rules->arena + pt->off, post};
	size_t lens[4] = {strlen(pre), strlen(slash), pt->len, strlen(post)};
	for (int i = 0; i < 4; i++) {
		for (size_t j = 0; j < lens[i]; j++, n++)
			if (cap && n < cap - 1)
				buf[n] = parts[i][j];
	}
	if (cap)
		buf[n < cap - 1 ? n : cap - 1] = '\0';
	return n;
}

size_t ignore_rules_count(const struct ignore_rules *rules)
{
	return rules ? rules->lines : 0;
}

