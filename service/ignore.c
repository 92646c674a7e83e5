/* ignore.c: gitignore rules, matched the way git matches them. */
#include "service/ignore.h"

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
 * - Within a set the last matching pattern decides; the first set that has a match decides, in
 *   the order override sets (latest first), then file sets deepest first.
 *
 * Speed: ignore_stack_excluded() runs once per scanned entry. Every pattern that can only match
 * paths ending in one known byte (all patterns without '[' that end in a literal) records that
 * byte; a set with more than IGNORE_INDEX_MIN patterns keeps, per last byte and per "is a
 * directory", the descending list of candidate patterns, plus the list of patterns whose last byte
 * is unknown; a query merges the two lists, so "*.o" is never tried on "main.c". Nothing on the
 * match path allocates, and stacks are immutable once built: any number of threads may query one.
 */

/** Sets with more patterns than this get the per-last-byte index. */
#define IGNORE_INDEX_MIN 8

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
	int16_t last;       /**< the byte every matching path ends with, or -1: unknown */
	uint8_t kind;       /**< enum ignore_kind */
	uint8_t flags;      /**< enum ignore_pat_flags */
};

/** The per-last-byte index of a large set; [d] is 0 for files, 1 for directories. */
struct ignore_index {
	uint32_t off[2][257]; /**< known[d][off[d][c]..off[d][c+1]) are the patterns ending in c */
	uint32_t *known[2];   /**< pattern numbers, descending within each byte */
	uint32_t *any[2];     /**< patterns of unknown last byte, descending */
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
/* wildmatch                                                                                */
/* ---------------------------------------------------------------------------------------- */

/*
 * Results of one attempt. The two aborts prune the backtracking: ABORT_ALL means the text ran out
 * before the pattern, so no later start of any enclosing '*' can help (it only shortens the text);
 * ABORT_TO_DSTAR means a single '*' failed at every position up to a '/', which an enclosing
 * single '*' cannot cross either, but an enclosing '**' can.
 */
enum ignore_wm_res {
	IGNORE_WM_MATCH,
	IGNORE_WM_FAIL,
	IGNORE_WM_ABORT_ALL,
	IGNORE_WM_ABORT_TO_DSTAR,
};

/** One wildmatch call: pattern and text are byte ranges, not NUL-terminated. */
struct ignore_wm {
	const unsigned char *pstart, *pend, *tend;
	bool fold, pathname;
};

static inline unsigned char ignore_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

static inline bool ignore_is_glob_special(unsigned char c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

static bool ignore_name_is(const unsigned char *name, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(name, lit, n) == 0;
}

/*
 * Whether `c` is in the POSIX class `name` (ASCII only, as git's ctype: "space" is \t \n \r and
 * ' ', without \v and \f). 1, 0, or -1 for an unknown class name, which fails the whole match.
 * Under casefold `c` is already lower case, so [:upper:] also takes lower-case letters.
 */
static int ignore_wm_class(const unsigned char *name, size_t n, unsigned char c, bool fold)
{
	bool up = c >= 'A' && c <= 'Z', lo = c >= 'a' && c <= 'z', dig = c >= '0' && c <= '9';
	if (ignore_name_is(name, n, "alnum"))
		return up || lo || dig;
	if (ignore_name_is(name, n, "alpha"))
		return up || lo;
	if (ignore_name_is(name, n, "blank"))
		return c == ' ' || c == '\t';
	if (ignore_name_is(name, n, "cntrl"))
		return c < 0x20 || c == 0x7f;
	if (ignore_name_is(name, n, "digit"))
		return dig;
	if (ignore_name_is(name, n, "graph"))
		return c > 0x20 && c < 0x7f;
	if (ignore_name_is(name, n, "lower"))
		return lo;
	if (ignore_name_is(name, n, "print"))
		return c >= 0x20 && c < 0x7f;
	if (ignore_name_is(name, n, "punct"))
		return c > 0x20 && c < 0x7f && !(up || lo || dig);
	if (ignore_name_is(name, n, "space"))
		return c == ' ' || c == '\t' || c == '\n' || c == '\r';
	if (ignore_name_is(name, n, "upper"))
		return up || (fold && lo);
	if (ignore_name_is(name, n, "xdigit"))
		return dig || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
	return -1;
}

/*
 * Matches byte `t` against the bracket expression whose '[' is at *pp, and leaves *pp on its
 * closing ']'. A ']' right after "[" or "[!" is a member; "a-b" is a range
 * unless '-' comes first or last; '\' escapes the next byte; "[:name:]" is a class, and "[:" not
 * closed by ":]" is a plain '['. Range ends and members are not case-folded, only `t` is (a
 * quirk of git kept on purpose). Returns 1 when `t` is accepted, 0 when not, -1 when the
 * expression is unterminated or names an unknown class.
 */
static int ignore_wm_bracket(const struct ignore_wm *wm, const unsigned char **pp, unsigned char t)
{
	const unsigned char *p = *pp + 1, *pe = wm->pend;
	bool negated = false, hit = false, first = true;
	int prev = -1; /* the previous single member, the start of a possible range */

	if (p < pe && (*p == '!' || *p == '^')) {
		negated = true;
		p++;
	}
	for (;; p++, first = false) {
		if (p == pe)
			return -1;
		unsigned char c = *p;
		if (c == ']' && !first)
			break;
		if (c == '\\') {
			if (++p == pe)
				return -1;
			c = *p;
			hit |= t == c;
			prev = c;
		} else if (c == '-' && prev >= 0 && p + 1 < pe && p[1] != ']') {
			unsigned char hi = *++p;
			if (hi == '\\') {
				if (++p == pe)
					return -1;
				hi = *p;
			}
			if (t >= prev && t <= hi)
				hit = true;
			else if (wm->fold && t >= 'a' && t <= 'z' && t - 0x20 >= prev && t - 0x20 <= hi)
				hit = true;
			prev = -1;
		} else if (c == '[' && p + 1 < pe && p[1] == ':') {
			const unsigned char *name = p + 2, *q = name;
			while (q < pe && *q != ']')
				q++;
			if (q == pe)
				return -1;
			if (q == name || q[-1] != ':') {
				hit |= t == '[';
				prev = '[';
				continue; /* the ':' after '[' is read next as a member */
			}
			int r = ignore_wm_class(name, (size_t)(q - 1 - name), t, wm->fold);
			if (r < 0)
				return -1;
			hit |= r == 1;
			prev = -1;
			p = q;
		} else {
			hit |= t == c;
			prev = c;
		}
	}
	*pp = p;
	return hit != negated;
}

static enum ignore_wm_res ignore_wm_run(const struct ignore_wm *wm, const unsigned char *p,
					const unsigned char *t);

/*
 * The '*' run starting at `p`, against text from `t`. A single '*' (or any run without
 * WM_PATHNAME) stops at '/' under WM_PATHNAME; "**" matches across '/' only when it is a whole
 * path component ("**" at the start or after '/', and at the end or before '/'); otherwise it is a
 * single '*'. A "**" followed by '/' may also match no directory at all, so that "a", "**", "/b"
 * in a row match "a/b".
 */
static enum ignore_wm_res ignore_wm_star(const struct ignore_wm *wm, const unsigned char *p,
					 const unsigned char *t)
{
	const unsigned char *star = p, *pe = wm->pend, *te = wm->tend;
	bool cross = !wm->pathname; /* may this star match '/'? */

	while (p < pe && *p == '*')
		p++;
	if (wm->pathname && p - star >= 2) {
		bool left = star == wm->pstart || star[-1] == '/';
		bool right = p == pe || *p == '/' || (*p == '\\' && p + 1 < pe && p[1] == '/');
		if (left && right) {
			if (p < pe && *p == '/' && ignore_wm_run(wm, p + 1, t) == IGNORE_WM_MATCH)
				return IGNORE_WM_MATCH;
			cross = true;
		}
	}
	if (p == pe) {
		if (!cross && memchr(t, '/', (size_t)(te - t)))
			return IGNORE_WM_FAIL;
		return IGNORE_WM_MATCH;
	}
	if (!cross && *p == '/') {
		/* The star must take exactly the rest of this component. */
		const unsigned char *slash = memchr(t, '/', (size_t)(te - t));
		if (!slash)
			return IGNORE_WM_FAIL;
		return ignore_wm_run(wm, p + 1, slash + 1);
	}
	for (; t < te; t++) {
		if (!ignore_is_glob_special(*p)) {
			/* A literal follows: skip to its next occurrence the star may reach. */
			unsigned char want = wm->fold ? ignore_lower(*p) : *p;
			while (t < te && (cross || *t != '/') && (wm->fold ? ignore_lower(*t) : *t) != want)
				t++;
			if (t == te || (wm->fold ? ignore_lower(*t) : *t) != want)
				return IGNORE_WM_FAIL;
		}
		enum ignore_wm_res r = ignore_wm_run(wm, p, t);
		if (r != IGNORE_WM_FAIL) {
			if (!cross || r != IGNORE_WM_ABORT_TO_DSTAR)
				return r;
		} else if (!cross && *t == '/') {
			return IGNORE_WM_ABORT_TO_DSTAR;
		}
	}
	return IGNORE_WM_ABORT_ALL;
}

static enum ignore_wm_res ignore_wm_run(const struct ignore_wm *wm, const unsigned char *p,
					const unsigned char *t)
{
	const unsigned char *pe = wm->pend, *te = wm->tend;

	for (; p < pe; p++, t++) {
		if (*p == '*')
			return ignore_wm_star(wm, p, t);
		if (t == te)
			return IGNORE_WM_ABORT_ALL;
		unsigned char tc = wm->fold ? ignore_lower(*t) : *t;
		switch (*p) {
		case '?':
			if (wm->pathname && tc == '/')
				return IGNORE_WM_FAIL;
			break;
		case '[': {
			int r = ignore_wm_bracket(wm, &p, tc);
			if (r < 0)
				return IGNORE_WM_ABORT_ALL;
			if (r == 0 || (wm->pathname && tc == '/'))
				return IGNORE_WM_FAIL;
			break;
		}
		case '\\':
			/* The escaped byte is compared as is (not folded); a trailing '\' never matches. */
			if (++p == pe || tc != *p)
				return IGNORE_WM_FAIL;
			break;
		default:
			if (tc != (wm->fold ? ignore_lower(*p) : *p))
				return IGNORE_WM_FAIL;
			break;
		}
	}
	return t == te ? IGNORE_WM_MATCH : IGNORE_WM_FAIL;
}

static bool ignore_wm_mem(const unsigned char *pat, size_t plen, const unsigned char *text,
			  size_t tlen, unsigned flags)
{
	struct ignore_wm wm = {
		.pstart = pat,
		.pend = pat + plen,
		.tend = text + tlen,
		.fold = (flags & IGNORE_WM_CASEFOLD) != 0,
		.pathname = (flags & IGNORE_WM_PATHNAME) != 0,
	};
	return ignore_wm_run(&wm, pat, text) == IGNORE_WM_MATCH;
}

bool ignore_wildmatch(const char *pattern, const char *text, unsigned flags)
{
	return ignore_wm_mem((const unsigned char *)pattern, strlen(pattern),
			     (const unsigned char *)text, strlen(text), flags);
}

/* ---------------------------------------------------------------------------------------- */
/* Rule sets                                                                                */
/* ---------------------------------------------------------------------------------------- */

/** Length of the leading run of bytes that are not `*?[\` (git's "simple length"). */
static size_t ignore_simple_length(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n && !ignore_is_glob_special(s[i]))
		i++;
	return i;
}

/*
 * The byte every text matched by wildmatch pattern s[0..n) ends with: -1 when unknown (it ends
 * in '*', '?', or has a bracket expression somewhere), -2 when nothing can match (a trailing
 * unescaped '\').
 */
static int ignore_last_byte(const unsigned char *s, size_t n)
{
	int last = -1;
	if (memchr(s, '[', n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\') {
			if (++i == n)
				return -2;
			last = s[i];
		} else if (s[i] == '*' || s[i] == '?') {
			last = -1;
		} else {
			last = s[i];
		}
	}
	return last;
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
	int last = n ? ignore_last_byte(s, n) : -2;
	if (last == -2)
		return 0;
	if (n > UINT32_MAX || r->arena_len > UINT32_MAX - n)
		return errbuf_set(err, -EFBIG, "ignore: rules for \"%s\" exceed 4 GiB", r->base);
	int rc = ignore_rules_grow(r, n, err);
	if (rc < 0)
		return rc;
	memcpy(r->arena + r->arena_len, s, n);
	r->pats[r->count++] = (struct ignore_pattern){
		.off = (uint32_t)r->arena_len,
		.len = (uint32_t)n,
		.prefix = (uint32_t)prefix,
		.last = (int16_t)last,
		.kind = (uint8_t)kind,
		.flags = (uint8_t)flags,
	};
	r->arena_len += n;
	return 0;
}

/* Builds the per-last-byte index of a large set (see DESIGN). */
static int ignore_rules_index(struct ignore_rules *r, struct errbuf *err)
{
	if (r->count <= IGNORE_INDEX_MIN)
		return 0;
	if (r->count > UINT32_MAX / 4)
		return errbuf_set(err, -EFBIG, "ignore: too many patterns for \"%s\"", r->base);
	struct ignore_index *ix = calloc(1, sizeof(*ix));
	uint32_t *ids = malloc(4 * r->count * sizeof(*ids));
	if (!ix || !ids) {
		free(ix);
		free(ids);
		return errbuf_errno(err, ENOMEM, "ignore: indexing the rules for \"%s\"", r->base);
	}
	for (int d = 0; d < 2; d++) {
		ix->known[d] = ids + (size_t)d * r->count;
		ix->any[d] = ids + (size_t)(2 + d) * r->count;
		/* Counting sort by last byte; walking patterns backwards keeps each list descending. */
		uint32_t counts[256] = {0};
		for (size_t i = 0; i < r->count; i++) {
			const struct ignore_pattern *p = &r->pats[i];
			if (p->last >= 0 && (d || !(p->flags & IGNORE_PAT_DIRONLY)))
				counts[p->last]++;
		}
		ix->off[d][0] = 0;
		for (int c = 0; c < 256; c++)
			ix->off[d][c + 1] = ix->off[d][c] + counts[c];
		uint32_t fill[256];
		memcpy(fill, ix->off[d], sizeof(fill));
		for (size_t i = r->count; i-- > 0;) {
			const struct ignore_pattern *p = &r->pats[i];
			if (!d && (p->flags & IGNORE_PAT_DIRONLY))
				continue;
			if (p->last >= 0)
				ix->known[d][fill[p->last]++] = (uint32_t)i;
			else
				ix->any[d][ix->nany[d]++] = (uint32_t)i;
		}
	}
	r->index = ix;
	return 0;
}

static int ignore_rules_new(struct ignore_rules **out, const char *base, size_t base_len,
			    struct errbuf *err)
{
	*out = NULL;
	while (base_len && base[base_len - 1] == '/')
		base_len--;
	struct ignore_rules *r = calloc(1, sizeof(*r));
	if (!r)
		return errbuf_errno(err, ENOMEM, "ignore: allocating rules for \"%.*s\"",
				    (int)(base_len > 200 ? 200 : base_len), base);
	r->base = malloc(base_len + 1);
	if (!r->base) {
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
		free(rules->index->known[0]);
	free(rules->index);
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

/** One query: the whole path, its basename, and its last byte. */
struct ignore_query {
	const unsigned char *path, *name;
	size_t len, name_len;
	unsigned char last;
	bool is_dir;
};

/* Whether pattern `pt` of `r` matches; `rel` is the path relative to the set's directory. */
static bool ignore_pattern_matches(const struct ignore_rules *r, const struct ignore_pattern *pt,
				   const struct ignore_query *q, const unsigned char *rel,
				   size_t rel_len)
{
	const unsigned char *s = r->arena + pt->off;
	switch ((enum ignore_kind)pt->kind) {
	case IGNORE_KIND_NAME_LITERAL:
		return q->name_len == pt->len && memcmp(q->name, s, pt->len) == 0;
	case IGNORE_KIND_NAME_SUFFIX:
		return q->name_len >= pt->len - 1 &&
		       memcmp(q->name + q->name_len - (pt->len - 1), s + 1, pt->len - 1) == 0;
	case IGNORE_KIND_NAME_GLOB:
		if (pt->prefix > q->name_len || memcmp(q->name, s, pt->prefix) != 0)
			return false;
		return ignore_wm_mem(s, pt->len, q->name, q->name_len, 0);
	case IGNORE_KIND_PATH:
		if (pt->prefix > rel_len || memcmp(rel, s, pt->prefix) != 0)
			return false;
		if (pt->prefix == pt->len)
			return rel_len == pt->len;
		return ignore_wm_mem(s + pt->prefix, pt->len - pt->prefix, rel + pt->prefix,
				     rel_len - pt->prefix, IGNORE_WM_PATHNAME);
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
	if (r->count == 0)
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
			if (pt->last >= 0 && pt->last != q->last)
				continue;
			if (ignore_pattern_matches(r, pt, q, rel, rel_len))
				return ignore_verdict_of(pt);
		}
		return IGNORE_NONE;
	}
	int d = q->is_dir;
	const uint32_t *k = ix->known[d] + ix->off[d][q->last];
	const uint32_t *kend = ix->known[d] + ix->off[d][q->last + 1];
	const uint32_t *a = ix->any[d], *aend = a + ix->nany[d];
	while (k < kend || a < aend) {
		uint32_t i = (a == aend || (k < kend && *k > *a)) ? *k++ : *a++;
		const struct ignore_pattern *pt = &r->pats[i];
		if (ignore_pattern_matches(r, pt, q, rel, rel_len))
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
	const unsigned char *slash = memrchr(q.path, '/', len);
	q.name = slash ? slash + 1 : q.path;
	q.name_len = len - (size_t)(q.name - q.path);

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
