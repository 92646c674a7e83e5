/* ignore.c: gitignore rules, matched the way git matches them. */
#include "service/scan/ignore.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
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

/* Defined in wildmatch.c (the module has one public header, so it is declared here). */
int wildmatch_bracket_set(const unsigned char *p, const unsigned char *pend, uint8_t set[32],
			  const unsigned char **close);

/** Sets with more patterns than this get the per-last-byte index. */
#define IGNORE_INDEX_MIN 8
/** A pattern that can end in more bytes than this goes to the index's "any" list. */
#define IGNORE_INDEX_MAX_LAST 16

/** How a pattern is compared. */
enum ignore_kind {
	IGNORE_KIND_NAME_LITERAL, /**< basename == pattern */
	IGNORE_KIND_NAME_SUFFIX,  /**< "*literal": basename ends with pattern + 1 */
	IGNORE_KIND_NAME_GLOB,    /**< wildmatch(pattern, basename, 0) */
	IGNORE_KIND_PATH,         /**< literal prefix + wildmatch(rest, relpath, WM_PATHNAME) */
};

/** Pattern flags. */
enum ignore_pat_flags {
	IGNORE_PAT_NEGATIVE = 1u << 0, /**< "!pattern" */
	IGNORE_PAT_DIRONLY = 1u << 1,  /**< "pattern/" */
};

/** One parsed pattern; its bytes live in the set's arena. */
struct ignore_pattern {
	uint32_t off, len;  /**< the bytes, without '!', trailing '/', and (PATH) leading '/' */
	uint32_t prefix;    /**< leading bytes free of wildcards and backslashes */
	uint32_t tail_off;  /**< arena offset of a literal every match ends with... */
	uint32_t tail_len;  /**< ...of this many bytes (0: none)... */
	uint32_t tail_skip; /**< ...followed by this many more bytes */
	uint8_t kind;       /**< enum ignore_kind */
	uint8_t flags;      /**< enum ignore_pat_flags */
	uint8_t min_dots;   /**< NAME_GLOB: the basename has at least this many '.' ("*.o.*") */
	uint8_t lastset[32]; /**< bit c: a matching path may end with byte c */
	struct ignore_wm *wm; /**< NAME_GLOB: the pattern, PATH: what follows the prefix, compiled */
};

/** Pattern lists of a large set, by one byte of the path; all lists are descending. */
struct ignore_bytelists {
	uint32_t off[257]; /**< ids[off[c]..off[c+1]) are the patterns listed under byte c */
	uint32_t *ids;
};

/** The index of a large set; [d] is 0 for files, 1 for directories. */
struct ignore_index {
	struct ignore_bytelists by_last[2];  /**< under each byte a match may end with */
	struct ignore_bytelists by_first[2]; /**< basename globs with a literal first byte */
	uint32_t *any[2];                    /**< the rest */
	uint32_t nany[2];
};

struct ignore_rules {
	char *base; /**< directory of the file, relative to the root, no trailing '/' */
	size_t base_len;
	unsigned char *arena;
	size_t arena_len, arena_cap;
	struct ignore_pattern *pats;
	size_t count, cap;
	size_t lines; /**< pattern lines read, for ignore_rules_count() */
	uint8_t lastmask[2][32]; /**< union of the lastsets of the patterns a file / dir may meet */
	struct ignore_index *index;
};

struct ignore_stack {
	atomic_size_t refs;
	struct ignore_stack *parent;
	struct ignore_rules *rules;
	bool override;     /**< pushed with ignore_stack_push_override() */
	bool any_override; /**< this node or an ancestor is an override */
};

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

static inline void ignore_bit_set(uint8_t set[32], unsigned char c)
{
	set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static inline bool ignore_bit_test(const uint8_t set[32], unsigned char c)
{
	return (set[c >> 3] >> (c & 7)) & 1u;
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
 * Reads wildmatch pattern s[0..n) as the matcher will, to find necessary conditions on the text
 * (see DESIGN). Only the tokens after the last '*' have fixed positions from the end; a "**"
 * followed by '/' may match no directory and swallow that '/', so then the '/' does not count.
 * `tail` (n bytes) receives the longest literal run among them. Returns -1 when the pattern can
 * match nothing: a trailing lone '\', or a malformed bracket expression (git aborts on reaching
 * it, and reaching it is the only way to finish the pattern).
 */
static int ignore_shape(const unsigned char *s, size_t n, bool pathname, unsigned char *tail,
			struct ignore_shape *out)
{
	/* Tokens of the current star-free run: byte, or -1 for '?' / a bracket expression. */
	int tok_buf[64], *tok = n <= 64 ? tok_buf : malloc(n * sizeof(*tok));
	if (!tok)
		return -2;
	size_t ntok = 0;
	bool drop_slash = false;
	uint8_t last_class[32];
	memset(out, 0, sizeof(*out));

	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c == '*') {
			size_t j = i;
			while (j < n && s[j] == '*')
				j++;
			drop_slash = pathname && j - i >= 2 && (i == 0 || s[i - 1] == '/') && j < n &&
				     s[j] == '/';
			ntok = 0;
			i = j;
			continue;
		}
		if (c == '\\') {
			if (i + 1 == n)
				goto never;
			tok[ntok++] = s[i + 1];
			out->dots += s[i + 1] == '.';
			i += 2;
		} else if (c == '?') {
			tok[ntok++] = -1;
			memset(last_class, 0xff, sizeof(last_class));
			i++;
		} else if (c == '[') {
			const unsigned char *close;
			if (wildmatch_bracket_set(s + i, s + n, last_class, &close) < 0)
				goto never;
			tok[ntok++] = -1;
			i = (size_t)(close - s) + 1;
		} else {
			tok[ntok++] = c;
			out->dots += c == '.';
			i++;
		}
	}
	size_t first = drop_slash ? 1 : 0;
	if (ntok <= first) {
		memset(out->lastset, 0xff, sizeof(out->lastset)); /* ends in a star */
	} else if (tok[ntok - 1] >= 0) {
		ignore_bit_set(out->lastset, (unsigned char)tok[ntok - 1]);
	} else {
		memcpy(out->lastset, last_class, sizeof(last_class));
	}
	/* The longest literal run among tok[first..ntok), and how many tokens follow it. */
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
	if (tok != tok_buf)
		free(tok);
	return 0;
never:
	if (tok != tok_buf)
		free(tok);
	return -1;
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
			return errbuf_errno(err, ENOMEM, "ignore: growing the pattern list");
		r->pats = p;
		r->cap = cap;
	}
	if (r->arena_len + bytes > r->arena_cap) {
		size_t cap = r->arena_cap ? r->arena_cap : 256;
		while (cap < r->arena_len + bytes)
			cap *= 2;
		unsigned char *a = realloc(r->arena, cap);
		if (!a)
			return errbuf_errno(err, ENOMEM, "ignore: growing the pattern text");
		r->arena = a;
		r->arena_cap = cap;
	}
	return 0;
}

/*
 * Adds one line (without its line end) as git's add_pattern() would: comments and empty lines
 * are skipped, the line stops at a NUL byte, trailing spaces are trimmed, then "!" negates, a
 * trailing "/" makes it directory-only, and any other "/" anchors it to the set's directory.
 */
static int ignore_rules_add_line(struct ignore_rules *r, const unsigned char *s, size_t n,
				 struct errbuf *err)
{
	if (n == 0 || s[0] == '#')
		return 0;
	const unsigned char *nul = memchr(s, '\0', n);
	if (nul)
		n = (size_t)(nul - s);
	n = ignore_trim_spaces(s, n);

	unsigned flags = 0;
	if (n && s[0] == '!') {
		flags |= IGNORE_PAT_NEGATIVE;
		s++;
		n--;
	}
	if (n && s[n - 1] == '/') {
		flags |= IGNORE_PAT_DIRONLY;
		n--;
	}
	r->lines++;

	size_t prefix = ignore_simple_length(s, n);
	enum ignore_kind kind;
	if (!memchr(s, '/', n)) {
		if (prefix == n)
			kind = IGNORE_KIND_NAME_LITERAL;
		else if (s[0] == '*' && ignore_simple_length(s + 1, n - 1) == n - 1)
			kind = IGNORE_KIND_NAME_SUFFIX;
		else
			kind = IGNORE_KIND_NAME_GLOB;
	} else {
		kind = IGNORE_KIND_PATH;
		if (s[0] == '/') {
			s++;
			n--;
			prefix--;
		}
	}
	/* An empty pattern matches nothing: git compares it with a non-empty name. */
	if (n == 0)
		return 0;
	if (n > UINT32_MAX / 2 || r->arena_len > UINT32_MAX - 2 * n)
		return errbuf_set(err, -EFBIG, "ignore: rules for \"%s\" exceed 4 GiB", r->base);
	int rc = ignore_rules_grow(r, 2 * n, err); /* the pattern, then its tail literal */
	if (rc < 0)
		return rc;

	struct ignore_pattern pt = {
		.off = (uint32_t)r->arena_len,
		.len = (uint32_t)n,
		.prefix = (uint32_t)prefix,
		.kind = (uint8_t)kind,
		.flags = (uint8_t)flags,
	};
	unsigned char *tail = r->arena + r->arena_len + n;
	struct ignore_shape shape;
	if (kind == IGNORE_KIND_NAME_LITERAL || (kind == IGNORE_KIND_PATH && prefix == n)) {
		ignore_bit_set(pt.lastset, s[n - 1]);
	} else if (kind == IGNORE_KIND_NAME_SUFFIX) {
		if (n > 1)
			ignore_bit_set(pt.lastset, s[n - 1]);
		else
			memset(pt.lastset, 0xff, sizeof(pt.lastset));
	} else {
		bool path = kind == IGNORE_KIND_PATH;
		size_t from = path ? prefix : 0;
		rc = ignore_shape(s + from, n - from, path, tail, &shape);
		if (rc == -1)
			return 0; /* can never match */
		if (rc < 0)
			return errbuf_errno(err, ENOMEM, "ignore: reading a pattern");
		memcpy(pt.lastset, shape.lastset, sizeof(pt.lastset));
		pt.tail_off = (uint32_t)(r->arena_len + n);
		pt.tail_len = (uint32_t)shape.tail_len;
		pt.tail_skip = (uint32_t)shape.tail_skip;
		if (!path)
			pt.min_dots = (uint8_t)(shape.dots > 255 ? 255 : shape.dots);
	}
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
	return errbuf_errno(err, -rc, "ignore: indexing the rules for \"%s\"", r->base);
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
		return errbuf_errno(err, ENOMEM, "ignore: allocating rules for \"%.*s\"",
				    (int)(base_len > 200 ? 200 : base_len), base);
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
	while (s < end) {
		const unsigned char *nl = memchr(s, '\n', (size_t)(end - s));
		const unsigned char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - s);
		/* The comment test sees the raw line; the CR of a CRLF goes before trimming. */
		if (n && s[0] != '#' && s[n - 1] == '\r')
			n--;
		rc = ignore_rules_add_line(r, s, n, err);
		if (rc < 0)
			goto fail;
		s = nl ? nl + 1 : end;
	}
	rc = ignore_rules_index(r, err);
	if (rc < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	errbuf_prefix(err, "parsing the ignore rules of \"%s\"", r->base);
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
					   err);
		if (rc < 0)
			goto fail;
	}
	rc = ignore_rules_index(r, err);
	if (rc < 0)
		goto fail;
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
	free(rules);
}

size_t ignore_rules_count(const struct ignore_rules *rules)
{
	return rules ? rules->lines : 0;
}

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

/* What one set says: its last matching pattern decides. */
static enum ignore_verdict ignore_rules_match(const struct ignore_rules *r,
					      const struct ignore_query *q)
{
	int d = q->is_dir;
	if (!ignore_bit_test(r->lastmask[d], q->last))
		return IGNORE_NONE;
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
			if (ignore_pattern_matches(r, pt, q, rel, rel_len))
				return ignore_verdict_of(pt);
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
		    ignore_pattern_matches(r, pt, q, rel, rel_len))
			return ignore_verdict_of(pt);
	}
	return IGNORE_NONE;
}

bool ignore_stack_excluded(const struct ignore_stack *stack, const char *path, size_t len,
			   bool is_dir)
{
	if (!stack || len == 0)
		return false;
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
		return false; /* a trailing '/': not a path this API takes */
	for (size_t i = b; i < len; i++)
		q.name_dots += q.path[i] == '.';

	enum ignore_verdict v;
	if (stack->any_override)
		for (const struct ignore_stack *s = stack; s; s = s->parent)
			if (s->override && (v = ignore_rules_match(s->rules, &q)) != IGNORE_NONE)
				return v == IGNORE_EXCLUDE;
	for (const struct ignore_stack *s = stack; s; s = s->parent)
		if (!s->override && (v = ignore_rules_match(s->rules, &q)) != IGNORE_NONE)
			return v == IGNORE_EXCLUDE;
	return false;
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
