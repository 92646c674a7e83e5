/* wildmatch.c: git's wildmatch() semantics: '*', '**', '?', bracket expressions, escapes. */
#include "service/scan/ignore.h"

#include <stdint.h>
#include <string.h>

/*
 * A re-implementation of the behaviour git's wildmatch.c documents and its t3070 tests pin down
 * (tests/unit/test_ignore.c carries those vectors). Patterns and texts are byte ranges, so the
 * gitignore matcher can hand over slices without copying; nothing here allocates.
 *
 * The two functions below are for ignore.c only; they are declared there too, because the module
 * has a single public header (ignore.h).
 */

/** wildmatch() on byte ranges; `flags` as ignore_wildmatch(). */
bool wildmatch_mem(const unsigned char *pat, size_t plen, const unsigned char *text, size_t tlen,
		   unsigned flags);

/**
 * The set of bytes the bracket expression at `p` ('[') accepts without case folding, as a bitmap
 * (bit c of set[c / 8]); *close is set to its closing ']'. 0, or -1 when it is malformed (an
 * unterminated expression or an unknown class name makes every match through it fail).
 */
int wildmatch_bracket_set(const unsigned char *p, const unsigned char *pend, uint8_t set[32],
			  const unsigned char **close);


/*
 * Results of one attempt. The two aborts prune the backtracking: ABORT_ALL means the text ran out
 * before the pattern, so no later start of any enclosing '*' can help (it only shortens the text);
 * ABORT_TO_DSTAR means a single '*' failed at every position up to a '/', which an enclosing
 * single '*' cannot cross either, but an enclosing '**' can.
 */
enum wildmatch_res {
	WILDMATCH_MATCH,
	WILDMATCH_FAIL,
	WILDMATCH_ABORT_ALL,
	WILDMATCH_ABORT_TO_DSTAR,
};

/** One wildmatch call: pattern and text are byte ranges, not NUL-terminated. */
struct wildmatch_call {
	const unsigned char *pstart, *pend, *tend;
	bool fold, pathname;
};

static inline unsigned char wildmatch_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

static inline bool wildmatch_is_special(unsigned char c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

static bool wildmatch_name_is(const unsigned char *name, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(name, lit, n) == 0;
}

/*
 * Whether `c` is in the POSIX class `name` (ASCII only, as git's ctype: "space" is \t \n \r and
 * ' ', without \v and \f). 1, 0, or -1 for an unknown class name, which fails the whole match.
 * Under casefold `c` is already lower case, so [:upper:] also takes lower-case letters.
 */
static int wildmatch_class(const unsigned char *name, size_t n, unsigned char c, bool fold)
{
	bool up = c >= 'A' && c <= 'Z', lo = c >= 'a' && c <= 'z', dig = c >= '0' && c <= '9';
	if (wildmatch_name_is(name, n, "alnum"))
		return up || lo || dig;
	if (wildmatch_name_is(name, n, "alpha"))
		return up || lo;
	if (wildmatch_name_is(name, n, "blank"))
		return c == ' ' || c == '\t';
	if (wildmatch_name_is(name, n, "cntrl"))
		return c < 0x20 || c == 0x7f;
	if (wildmatch_name_is(name, n, "digit"))
		return dig;
	if (wildmatch_name_is(name, n, "graph"))
		return c > 0x20 && c < 0x7f;
	if (wildmatch_name_is(name, n, "lower"))
		return lo;
	if (wildmatch_name_is(name, n, "print"))
		return c >= 0x20 && c < 0x7f;
	if (wildmatch_name_is(name, n, "punct"))
		return c > 0x20 && c < 0x7f && !(up || lo || dig);
	if (wildmatch_name_is(name, n, "space"))
		return c == ' ' || c == '\t' || c == '\n' || c == '\r';
	if (wildmatch_name_is(name, n, "upper"))
		return up || (fold && lo);
	if (wildmatch_name_is(name, n, "xdigit"))
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
static int wildmatch_bracket(const struct wildmatch_call *wm, const unsigned char **pp, unsigned char t)
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
			int r = wildmatch_class(name, (size_t)(q - 1 - name), t, wm->fold);
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

static enum wildmatch_res wildmatch_run(const struct wildmatch_call *wm, const unsigned char *p,
					const unsigned char *t);

/*
 * The '*' run starting at `p`, against text from `t`. A single '*' (or any run without
 * WM_PATHNAME) stops at '/' under WM_PATHNAME; "**" matches across '/' only when it is a whole
 * path component ("**" at the start or after '/', and at the end or before '/'); otherwise it is a
 * single '*'. A "**" followed by '/' may also match no directory at all, so that "a", "**", "/b"
 * in a row match "a/b".
 */
static enum wildmatch_res wildmatch_star(const struct wildmatch_call *wm, const unsigned char *p,
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
			if (p < pe && *p == '/' && wildmatch_run(wm, p + 1, t) == WILDMATCH_MATCH)
				return WILDMATCH_MATCH;
			cross = true;
		}
	}
	if (p == pe) {
		if (!cross && memchr(t, '/', (size_t)(te - t)))
			return WILDMATCH_FAIL;
		return WILDMATCH_MATCH;
	}
	if (!cross && *p == '/') {
		/* The star must take exactly the rest of this component. */
		const unsigned char *slash = memchr(t, '/', (size_t)(te - t));
		if (!slash)
			return WILDMATCH_FAIL;
		return wildmatch_run(wm, p + 1, slash + 1);
	}
	for (; t < te; t++) {
		if (!wildmatch_is_special(*p)) {
			/* A literal follows: skip to its next occurrence the star may reach. */
			unsigned char want = wm->fold ? wildmatch_lower(*p) : *p;
			while (t < te && (cross || *t != '/') && (wm->fold ? wildmatch_lower(*t) : *t) != want)
				t++;
			if (t == te || (wm->fold ? wildmatch_lower(*t) : *t) != want)
				return WILDMATCH_FAIL;
		}
		enum wildmatch_res r = wildmatch_run(wm, p, t);
		if (r != WILDMATCH_FAIL) {
			if (!cross || r != WILDMATCH_ABORT_TO_DSTAR)
				return r;
		} else if (!cross && *t == '/') {
			return WILDMATCH_ABORT_TO_DSTAR;
		}
	}
	return WILDMATCH_ABORT_ALL;
}

static enum wildmatch_res wildmatch_run(const struct wildmatch_call *wm, const unsigned char *p,
					const unsigned char *t)
{
	const unsigned char *pe = wm->pend, *te = wm->tend;

	for (; p < pe; p++, t++) {
		if (*p == '*')
			return wildmatch_star(wm, p, t);
		if (t == te)
			return WILDMATCH_ABORT_ALL;
		unsigned char tc = wm->fold ? wildmatch_lower(*t) : *t;
		switch (*p) {
		case '?':
			if (wm->pathname && tc == '/')
				return WILDMATCH_FAIL;
			break;
		case '[': {
			int r = wildmatch_bracket(wm, &p, tc);
			if (r < 0)
				return WILDMATCH_ABORT_ALL;
			if (r == 0 || (wm->pathname && tc == '/'))
				return WILDMATCH_FAIL;
			break;
		}
		case '\\':
			/* The escaped byte is compared as is (not folded); a trailing '\' never matches. */
			if (++p == pe || tc != *p)
				return WILDMATCH_FAIL;
			break;
		default:
			if (tc != (wm->fold ? wildmatch_lower(*p) : *p))
				return WILDMATCH_FAIL;
			break;
		}
	}
	return t == te ? WILDMATCH_MATCH : WILDMATCH_FAIL;
}

bool wildmatch_mem(const unsigned char *pat, size_t plen, const unsigned char *text,
			  size_t tlen, unsigned flags)
{
	struct wildmatch_call wm = {
		.pstart = pat,
		.pend = pat + plen,
		.tend = text + tlen,
		.fold = (flags & IGNORE_WM_CASEFOLD) != 0,
		.pathname = (flags & IGNORE_WM_PATHNAME) != 0,
	};
	return wildmatch_run(&wm, pat, text) == WILDMATCH_MATCH;
}

int wildmatch_bracket_set(const unsigned char *p, const unsigned char *pend, uint8_t set[32],
			  const unsigned char **close)
{
	struct wildmatch_call wm = {.pstart = p, .pend = pend, .tend = NULL};
	memset(set, 0, 32);
	for (unsigned t = 0; t < 256; t++) {
		const unsigned char *q = p;
		int r = wildmatch_bracket(&wm, &q, (unsigned char)t);
		if (r < 0)
			return -1;
		if (r)
			set[t >> 3] |= (uint8_t)(1u << (t & 7));
		*close = q;
	}
	return 0;
}

bool ignore_wildmatch(const char *pattern, const char *text, unsigned flags)
{
	return wildmatch_mem((const unsigned char *)pattern, strlen(pattern),
			     (const unsigned char *)text, strlen(text), flags);
}

