/* wildmatch.c: git's wildmatch() semantics, compiled once per pattern, matched in linear time. */
#include "service/scan/ignore.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * DESIGN
 *
 * git's wildmatch.c (dowild()) backtracks: each '*' tries every text position for the rest of the
 * pattern. Its two aborts (WM_ABORT_ALL when the text runs out, WM_ABORT_TO_STARSTAR when a single
 * '*' reaches a '/') tame runs of single stars but not "**": "**" "/" "**" "/" ... "[b]x" against a
 * 40-level path tries every way to share 40 directories among the "**", about 10^10 calls.
 *
 * Here a pattern is compiled once into tokens, and a text is matched by running the automaton
 * whose states are the positions between tokens (state i: the first i tokens have matched the
 * text read so far) on all states at once, as bits of 64-bit words (the shift-and simulation of
 * agrep and of linear-time glob matchers). Tokens:
 *
 * - one byte from a set fixed at compile time: a literal ("\x" is the literal x), '?', a bracket
 *   expression. State i goes to i + 1 on a byte of the set;
 * - a star run: "*" takes any bytes but '/' under WM_PATHNAME, any bytes without it; under
 *   WM_PATHNAME "**" that is a whole path component (at the start or after '/', at the end or
 *   before '/' or "\/") takes any bytes, and any other "**" is a "*". A star state loops on its
 *   bytes and may be left without taking any (an epsilon move to the next state);
 * - a "**" component followed by '/' may also skip that '/' (git's "matches zero directories"),
 *   an epsilon move two states on, open only to a "**" just entered (one that has taken bytes
 *   must end with its '/'). "**" "/" "**" "/" is compiled as one "**" "/", since
 *   (e | S*'/')(e | S*'/') = (e | S*'/'). So an epsilon path is at most a skip then a star exit
 *   (a skip never lands on a skip, a star exit never on a star), and closing a state set under
 *   epsilon moves takes two shifts.
 *
 * A text is accepted when the state after all tokens is in the set at its end. That is git's
 * answer: dowild() searches the same automaton depth first; its literal skip-ahead only passes
 * positions where the next literal cannot match, and its aborts only cut branches that cannot
 * match either (the text left only gets shorter for a later start of an enclosing star, and a
 * single star cannot pass the '/' where it stopped). A malformed bracket expression or a trailing
 * '\' makes every match fail, since every match must pass it.
 *
 * Cost: compiling reads the pattern once, plus, for patterns of at most 63 tokens, one look at each
 * of the 256 byte values per token to build a table from byte to "which states take it" (bytes
 * that behave alike share a class). Matching then costs a few word operations per text byte and
 * allocates nothing. Longer patterns keep their tokens and test, per text byte, only the states
 * that are active: at most one test per pattern byte. Either way a match costs at most
 * (tokens / 64 + 1 + pattern length) steps per text byte, O(pattern length x text length) whatever
 * the pattern; ignore_wm_match_counted() reports the steps so tests can check that bound.
 * tests/unit/test_wildmatch.c compares the answers with a copy of the backtracking matcher on
 * random patterns and texts, and test_ignore.c holds git's t3070 vectors.
 */

/*
 * Defined here for ignore.c only (the module has one public header, so it is declared there too):
 * the set of bytes the bracket expression at `p` ('[') accepts without case folding, as a bitmap
 * (bit c of set[c / 8]); *close is set to its closing ']'. 0, or -1 when it is malformed (an
 * unterminated expression or an unknown class name makes every match through it fail).
 */
int wildmatch_bracket_set(const unsigned char *p, const unsigned char *pend, uint8_t set[32],
			  const unsigned char **close);

/** Longest pattern, in tokens, a program takes: its state set fits the matcher's stack buffer. */
#define WILDMATCH_MAX_TOKENS 65535
#define WILDMATCH_MAX_WORDS ((WILDMATCH_MAX_TOKENS + 1 + 63) / 64)
/** Patterns of at most this many tokens run on one word and the byte class table. */
#define WILDMATCH_SMALL_TOKENS 63

/** What a token does. */
enum wildmatch_kind {
	WILDMATCH_LIT,        /**< takes `byte` (the text byte is lower-cased first under casefold) */
	WILDMATCH_ANY,        /**< '?': takes any byte ('/' only without WM_PATHNAME) */
	WILDMATCH_SET,        /**< a bracket expression, at `off` in the pattern */
	WILDMATCH_NONE,       /**< a trailing '\': takes nothing */
	WILDMATCH_STAR,       /**< loops on any byte but '/' (WM_PATHNAME) */
	WILDMATCH_DSTAR,      /**< loops on any byte */
	WILDMATCH_DSTAR_SKIP, /**< loops on any byte; may skip the '/' token after it */
};

/** One token; `off` is where it starts in the pattern (a bracket runs to the next token). */
struct wildmatch_tok {
	uint32_t off;
	uint8_t kind; /**< enum wildmatch_kind */
	uint8_t byte; /**< WILDMATCH_LIT */
};

/** What the bytes of one class do to a one-word state set. */
struct wildmatch_class {
	uint64_t take; /**< states whose token takes the byte: i goes to i + 1 */
	uint64_t loop; /**< star states that take the byte: i stays */
};

struct ignore_wm {
	uint32_t ntok;   /**< tokens; the accepting state is ntok */
	uint32_t nwords; /**< 64-bit words of a state set */
	size_t minlen;   /**< shortest text that can match */
	bool never;      /**< a malformed bracket expression or a trailing '\' */
	bool fold, pathname, has_star;
	/* Patterns of at most WILDMATCH_SMALL_TOKENS tokens: */
	uint64_t star1, skip1;           /**< star states; "**" "/" states that may skip the '/' */
	uint8_t cls[256];                /**< byte -> class */
	struct wildmatch_class *classes; /**< [number of classes] */
	/* Longer patterns (NULL otherwise): */
	struct wildmatch_tok *tok;  /**< [ntok] */
	unsigned char *pat;         /**< a copy of the pattern, for bracket expressions */
	size_t plen;
	uint64_t *masks; /**< [4][nwords]: star, star taking '/', skip, one-byte tokens */
};

static inline unsigned char wildmatch_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
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
static int wildmatch_class_has(const unsigned char *name, size_t n, unsigned char c, bool fold)
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
 * Matches byte `t` (already lower-cased under `fold`) against the bracket expression whose '['
 * is at *pp, and leaves *pp on its closing ']'. A ']' right after "[" or "[!" is a member; "a-b"
 * is a range unless '-' comes first or last; '\' escapes the next byte; "[:name:]" is a class,
 * and "[:" not closed by ":]" is a plain '['. Range ends and members are not case-folded, only
 * `t` is (a quirk of git kept on purpose). Returns 1 when `t` is accepted, 0 when not, -1 when
 * the expression is unterminated or names an unknown class (whatever `t` is).
 */
static int wildmatch_bracket(const unsigned char **pp, const unsigned char *pe, bool fold,
			     unsigned char t)
{
	const unsigned char *p = *pp + 1;
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
			else if (fold && t >= 'a' && t <= 'z' && t - 0x20 >= prev && t - 0x20 <= hi)
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
			int r = wildmatch_class_has(name, (size_t)(q - 1 - name), t, fold);
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

int wildmatch_bracket_set(const unsigned char *p, const unsigned char *pend, uint8_t set[32],
			  const unsigned char **close)
{
	memset(set, 0, 32);
	for (unsigned t = 0; t < 256; t++) {
		const unsigned char *q = p;
		int r = wildmatch_bracket(&q, pend, false, (unsigned char)t);
		if (r < 0)
			return -1;
		if (r)
			set[t >> 3] |= (uint8_t)(1u << (t & 7));
		*close = q;
	}
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Compiling                                                                                */
/* ---------------------------------------------------------------------------------------- */

/** The pattern being compiled. */
struct wildmatch_src {
	const unsigned char *s;
	size_t n;
	bool fold, pathname;
};

/* Whether one-byte token `t` takes text byte `c`. */
static bool wildmatch_tok_takes(const struct wildmatch_src *src, const struct wildmatch_tok *t,
				unsigned char c)
{
	unsigned char tc = src->fold ? wildmatch_lower(c) : c;
	switch ((enum wildmatch_kind)t->kind) {
	case WILDMATCH_LIT:
		return tc == t->byte;
	case WILDMATCH_ANY:
		return !(src->pathname && c == '/');
	case WILDMATCH_SET: {
		if (src->pathname && c == '/')
			return false;
		const unsigned char *q = src->s + t->off;
		return wildmatch_bracket(&q, src->s + src->n, src->fold, tc) == 1;
	}
	default:
		return false;
	}
}

/*
 * The star run at s[i..j): its kind under the rules in DESIGN.
 */
static enum wildmatch_kind wildmatch_star_kind(const struct wildmatch_src *src, size_t i, size_t j)
{
	const unsigned char *s = src->s;
	size_t n = src->n;
	if (!src->pathname)
		return WILDMATCH_DSTAR;
	if (j - i < 2)
		return WILDMATCH_STAR;
	bool left = i == 0 || s[i - 1] == '/';
	bool right = j == n || s[j] == '/' || (s[j] == '\\' && j + 1 < n && s[j + 1] == '/');
	if (!left || !right)
		return WILDMATCH_STAR;
	return j < n && s[j] == '/' ? WILDMATCH_DSTAR_SKIP : WILDMATCH_DSTAR;
}

/*
 * Splits the pattern into tok[] (room for n tokens). Returns the number of tokens, or -1 when
 * the pattern can match nothing (a malformed bracket expression).
 */
static long wildmatch_tokenize(const struct wildmatch_src *src, struct wildmatch_tok *tok)
{
	const unsigned char *s = src->s;
	size_t n = src->n, nt = 0;
	for (size_t i = 0; i < n;) {
		struct wildmatch_tok t = {.off = (uint32_t)i, .kind = WILDMATCH_LIT};
		unsigned char c = s[i];
		if (c == '*') {
			size_t j = i;
			while (j < n && s[j] == '*')
				j++;
			t.kind = (uint8_t)wildmatch_star_kind(src, i, j);
			if (t.kind == WILDMATCH_DSTAR_SKIP && nt >= 2 &&
			    tok[nt - 2].kind == WILDMATCH_DSTAR_SKIP) {
				i = j + 1; /* "**" "/" again: the same language, see DESIGN */
				continue;
			}
			i = j;
		} else if (c == '?') {
			t.kind = WILDMATCH_ANY;
			i++;
		} else if (c == '[') {
			const unsigned char *q = s + i;
			if (wildmatch_bracket(&q, s + n, src->fold, 0) < 0)
				return -1;
			t.kind = WILDMATCH_SET;
			i = (size_t)(q - s) + 1;
		} else if (c == '\\') {
			/* The escaped byte is compared as is: under casefold, "\A" takes nothing. */
			if (i + 1 == n) {
				t.kind = WILDMATCH_NONE;
				i++;
			} else {
				t.byte = s[i + 1];
				i += 2;
			}
		} else {
			t.byte = src->fold ? wildmatch_lower(c) : c;
			i++;
		}
		tok[nt++] = t;
	}
	return (long)nt;
}

static inline void wildmatch_bit_set(uint64_t *words, size_t i)
{
	words[i >> 6] |= 1ull << (i & 63);
}

/* Sets bit `bit` of take[c] for every byte c that one-byte token `t` takes. */
static void wildmatch_mark_takes(const struct wildmatch_src *src, const struct wildmatch_tok *t,
				 uint64_t bit, uint64_t take[256])
{
	switch ((enum wildmatch_kind)t->kind) {
	case WILDMATCH_LIT:
		if (!src->fold) {
			take[t->byte] |= bit;
		} else if (t->byte >= 'a' && t->byte <= 'z') {
			take[t->byte] |= bit;
			take[t->byte - 0x20] |= bit;
		} else if (!(t->byte >= 'A' && t->byte <= 'Z')) {
			take[t->byte] |= bit; /* an escaped upper-case letter takes nothing */
		}
		break;
	case WILDMATCH_ANY:
	case WILDMATCH_SET:
		for (unsigned c = 0; c < 256; c++)
			if (wildmatch_tok_takes(src, t, (unsigned char)c))
				take[c] |= bit;
		break;
	default:
		break;
	}
}

/*
 * Fills the byte class table of a pattern of at most WILDMATCH_SMALL_TOKENS tokens: bytes that
 * move the same states share a class (at most 256 of them).
 */
static int wildmatch_build_classes(struct ignore_wm *g, const struct wildmatch_src *src,
				   const struct wildmatch_tok *tok, uint64_t star_slash)
{
	uint64_t take[256] = {0};
	for (uint32_t i = 0; i < g->ntok; i++)
		wildmatch_mark_takes(src, &tok[i], 1ull << i, take);
	struct wildmatch_class cls[256];
	unsigned ncls = 0, idle = 256; /* the class of bytes no token takes, once seen */
	for (unsigned c = 0; c < 256; c++) {
		struct wildmatch_class k = {
			.take = take[c],
			.loop = src->pathname && c == '/' ? star_slash : g->star1,
		};
		bool is_idle = k.take == 0 && k.loop == g->star1;
		unsigned j = is_idle && idle < 256 ? idle : 0;
		while (j < ncls && (cls[j].take != k.take || cls[j].loop != k.loop))
			j++;
		if (j == ncls)
			cls[ncls++] = k;
		if (is_idle)
			idle = j;
		g->cls[c] = (uint8_t)j;
	}
	g->classes = malloc(ncls * sizeof(*g->classes));
	if (!g->classes)
		return -ENOMEM;
	memcpy(g->classes, cls, ncls * sizeof(*g->classes));
	return 0;
}

/* Keeps the tokens and a copy of the pattern of a longer pattern, with its masks. */
static int wildmatch_keep_tokens(struct ignore_wm *g, const struct wildmatch_src *src,
				 struct wildmatch_tok *tok)
{
	g->tok = tok;
	g->pat = malloc(src->n ? src->n : 1);
	g->masks = calloc(4 * (size_t)g->nwords, sizeof(uint64_t));
	if (!g->pat || !g->masks)
		return -ENOMEM;
	memcpy(g->pat, src->s, src->n);
	g->plen = src->n;
	uint64_t *star = g->masks, *slash = star + g->nwords, *skip = slash + g->nwords;
	uint64_t *take = skip + g->nwords;
	for (uint32_t i = 0; i < g->ntok; i++) {
		switch ((enum wildmatch_kind)tok[i].kind) {
		case WILDMATCH_DSTAR_SKIP:
			wildmatch_bit_set(skip, i);
			/* fall through */
		case WILDMATCH_DSTAR:
			wildmatch_bit_set(slash, i);
			/* fall through */
		case WILDMATCH_STAR:
			wildmatch_bit_set(star, i);
			break;
		case WILDMATCH_NONE:
			break;
		default:
			wildmatch_bit_set(take, i);
			break;
		}
	}
	return 0;
}

void ignore_wm_destroy(struct ignore_wm *wm)
{
	if (!wm)
		return;
	free(wm->classes);
	free(wm->tok);
	free(wm->pat);
	free(wm->masks);
	free(wm);
}

/* Sets the program's counts and one-word masks from its tokens. */
static void wildmatch_measure(struct ignore_wm *g, const struct wildmatch_tok *tok,
			      uint64_t *star_slash)
{
	size_t takes = 0, skips = 0;
	*star_slash = 0;
	for (uint32_t i = 0; i < g->ntok; i++) {
		enum wildmatch_kind k = (enum wildmatch_kind)tok[i].kind;
		bool small = g->ntok <= WILDMATCH_SMALL_TOKENS;
		if (k >= WILDMATCH_STAR) {
			g->has_star = true;
			if (small) {
				g->star1 |= 1ull << i;
				if (k != WILDMATCH_STAR)
					*star_slash |= 1ull << i;
				if (k == WILDMATCH_DSTAR_SKIP)
					g->skip1 |= 1ull << i;
			}
		} else {
			takes++;
		}
		skips += k == WILDMATCH_DSTAR_SKIP;
	}
	g->minlen = takes - skips; /* each skip owns a '/' token */
}

int ignore_wm_compile(struct ignore_wm **out, const char *pattern, size_t len, unsigned flags,
		      struct errbuf *err)
{
	*out = NULL;
	struct wildmatch_src src = {
		.s = (const unsigned char *)pattern,
		.n = len,
		.fold = (flags & IGNORE_WM_CASEFOLD) != 0,
		.pathname = (flags & IGNORE_WM_PATHNAME) != 0,
	};
	int rc = -ENOMEM;
	struct wildmatch_tok *tok = NULL;
	struct ignore_wm *g = calloc(1, sizeof(*g));
	if (!g)
		goto fail;
	g->fold = src.fold;
	g->pathname = src.pathname;
	if (len > UINT32_MAX)
		goto too_long;
	tok = malloc((len ? len : 1) * sizeof(*tok));
	if (!tok)
		goto fail;
	long nt = wildmatch_tokenize(&src, tok);
	if (nt < 0 || (nt > 0 && tok[nt - 1].kind == WILDMATCH_NONE)) {
		g->never = true; /* every match would pass a token that takes nothing */
		free(tok);
		*out = g;
		return 0;
	}
	if (nt > WILDMATCH_MAX_TOKENS)
		goto too_long;
	g->ntok = (uint32_t)nt;
	g->nwords = (uint32_t)(nt / 64 + 1);
	uint64_t star_slash;
	wildmatch_measure(g, tok, &star_slash);
	if (g->ntok <= WILDMATCH_SMALL_TOKENS) {
		rc = wildmatch_build_classes(g, &src, tok, star_slash);
		free(tok);
		tok = NULL;
	} else {
		rc = wildmatch_keep_tokens(g, &src, tok);
		tok = NULL; /* now owned by g */
	}
	if (rc < 0)
		goto fail;
	*out = g;
	return 0;
too_long:
	free(tok);
	ignore_wm_destroy(g);
	return errbuf_set(err, -E2BIG,
			  "ignore: a pattern of %zu bytes has more than %d characters and "
			  "wildcards, the longest that is matched",
			  len, WILDMATCH_MAX_TOKENS);
fail:
	free(tok);
	ignore_wm_destroy(g);
	return errbuf_errno(err, -rc, "ignore: compiling a pattern of %zu bytes", len);
}

/* ---------------------------------------------------------------------------------------- */
/* Matching                                                                                 */
/* ---------------------------------------------------------------------------------------- */

/*
 * Closes one word of states under epsilon moves (see DESIGN): `arrived` are the states just
 * entered by taking a byte (or the start state), as only those may skip the '/' after a "**": a
 * "**" that has taken bytes must end with its '/'.
 */
static inline uint64_t wildmatch_settle1(uint64_t d, uint64_t arrived, uint64_t skip,
					 uint64_t star)
{
	d |= (arrived & skip) << 2;
	return d | (d & star) << 1;
}

static inline bool wildmatch_run_small(const struct ignore_wm *g, const unsigned char *t,
				       size_t n, uint64_t *steps)
{
	const uint64_t skip = g->skip1, star = g->star1;
	uint64_t d = wildmatch_settle1(1, 1, skip, star);
	size_t i = 0;
	for (; i < n && d; i++) {
		const struct wildmatch_class *k = &g->classes[g->cls[t[i]]];
		uint64_t arrived = (d & k->take) << 1;
		d = wildmatch_settle1(arrived | (d & k->loop), arrived, skip, star);
	}
	if (steps)
		*steps += i + 1;
	return (d >> g->ntok) & 1;
}

/*
 * One step of a longer pattern: takes byte `c` (or, when `start`, enters the start state) and
 * settles, over the nwords words of `d`; one-byte tokens are tested only where their state is
 * active. Bits move up by one (a byte taken, a star left) or two (a skip), so each word takes
 * the bits its lower neighbour shifts out. Returns whether any state is left; adds to *count
 * the words and the pattern bytes of the tokens tested.
 */
static bool wildmatch_step_large(const struct ignore_wm *g, const struct wildmatch_src *src,
				 uint64_t *d, unsigned char c, bool start, uint64_t *count)
{
	const size_t nw = g->nwords;
	const uint64_t *star = g->masks, *slash = star + nw, *skip = slash + nw, *take = skip + nw;
	const uint64_t *loop = g->pathname && c == '/' && !start ? slash : star;
	uint64_t carry = 0, c2 = 0, c1 = 0, any = 0;
	for (size_t w = 0; w < nw; w++) {
		uint64_t arrived = d[w], kept = 0;
		if (!start) {
			uint64_t cand = d[w] & take[w], took = 0;
			while (cand) {
				size_t b = (size_t)__builtin_ctzll(cand), k = w * 64 + b;
				const struct wildmatch_tok *tk = &g->tok[k];
				cand &= cand - 1;
				*count += tk->kind == WILDMATCH_SET
						  ? (k + 1 < g->ntok ? g->tok[k + 1].off : g->plen) - tk->off
						  : 1;
				if (wildmatch_tok_takes(src, tk, c))
					took |= 1ull << b;
			}
			arrived = took << 1 | carry;
			carry = took >> 63;
			kept = d[w] & loop[w];
		}
		uint64_t x = arrived | kept | c2 | c1;
		uint64_t s2 = arrived & skip[w];
		x |= s2 << 2;
		uint64_t s1 = x & star[w];
		x |= s1 << 1;
		c2 = s2 >> 62;
		c1 = s1 >> 63;
		d[w] = x;
		any |= x;
	}
	*count += nw;
	return any != 0;
}

static bool wildmatch_run_large(const struct ignore_wm *g, const unsigned char *t, size_t n,
				uint64_t *steps)
{
	uint64_t d[WILDMATCH_MAX_WORDS];
	const struct wildmatch_src src = {.s = g->pat, .n = g->plen, .fold = g->fold,
					  .pathname = g->pathname};
	uint64_t count = 0;
	memset(d, 0, g->nwords * sizeof(*d));
	d[0] = 1;
	bool alive = wildmatch_step_large(g, &src, d, 0, true, &count);
	for (size_t i = 0; i < n && alive; i++)
		alive = wildmatch_step_large(g, &src, d, t[i], false, &count);
	if (steps)
		*steps += count;
	return alive && ((d[g->ntok >> 6] >> (g->ntok & 63)) & 1);
}

static inline bool wildmatch_run(const struct ignore_wm *g, const unsigned char *t, size_t n,
				 uint64_t *steps)
{
	if (g->never || n < g->minlen || (!g->has_star && n != g->minlen)) {
		if (steps)
			*steps += 1;
		return false;
	}
	if (g->ntok <= WILDMATCH_SMALL_TOKENS)
		return wildmatch_run_small(g, t, n, steps);
	return wildmatch_run_large(g, t, n, steps);
}

bool ignore_wm_match(const struct ignore_wm *wm, const char *text, size_t len)
{
	return wildmatch_run(wm, (const unsigned char *)text, len, NULL);
}

bool ignore_wm_match_counted(const struct ignore_wm *wm, const char *text, size_t len,
			     uint64_t *steps)
{
	return wildmatch_run(wm, (const unsigned char *)text, len, steps);
}

int ignore_wildmatch(const char *pattern, const char *text, unsigned flags)
{
	struct ignore_wm *wm;
	int rc = ignore_wm_compile(&wm, pattern, strlen(pattern), flags, NULL);
	if (rc < 0)
		return rc;
	bool hit = ignore_wm_match(wm, text, strlen(text));
	ignore_wm_destroy(wm);
	return hit;
}
