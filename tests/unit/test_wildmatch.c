/* test_wildmatch.c: the compiled matcher's cost bound, and its answers against git's algorithm. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/scan/ignore.h"
#include "tests/unit/test_wildmatch_ref.h"
#include "tests/unit/unit.h"

/* xorshift64: the tests' seeded random numbers. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define RNG_PICK(rng, arr) (arr)[rng_next(rng) % (sizeof(arr) / sizeof((arr)[0]))]

/* ---------------------------------------------------------------------------------------- */
/* The bound                                                                                */
/* ---------------------------------------------------------------------------------------- */

/** A growable byte string. */
struct wm_buf {
	char *s;
	size_t n, cap;
};

static void buf_add(struct wm_buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *bigger = realloc(b->s, cap);
		if (!bigger) {
			perror("realloc");
			exit(2);
		}
		b->s = bigger;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void buf_rep(struct wm_buf *b, const char *s, size_t times)
{
	for (size_t i = 0; i < times; i++)
		buf_add(b, s, strlen(s));
}

/** The largest steps / ((plen + 1) * (tlen + 1)) seen, for the log. */
static double bound_worst;

/*
 * Matches with the step counter and checks the bound of ignore.h: steps <= 2 (P + 1) (T + 1).
 * `want` is the expected answer (-1: not known here). When `ref_explodes`, also shows that the
 * backtracking reference needs more than 1000 (P + 1) (T + 1) calls on the same input.
 */
static void check_bound(const char *what, const struct wm_buf *pat, const struct wm_buf *text,
			unsigned flags, int want, bool ref_explodes)
{
	struct ignore_wm *wm;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(ignore_wm_compile(&wm, pat->s, pat->n, flags, &err), 0);
	uint64_t steps = 0;
	bool got = ignore_wm_match_counted(wm, text->s, text->n, &steps);
	ignore_wm_destroy(wm);
	double area = (double)(pat->n + 1) * (double)(text->n + 1);
	if (steps / area > bound_worst)
		bound_worst = steps / area;
	fprintf(stderr, "\n    %s (P=%zu, T=%zu, flags %u): %llu steps, %.4f per (P+1)(T+1)", what,
		pat->n, text->n, flags, (unsigned long long)steps, steps / area);
	CU_ASSERT(steps <= 2 * (uint64_t)(pat->n + 1) * (text->n + 1));
	if (want >= 0)
		CU_ASSERT_EQUAL(got, want == 1);
	if (ref_explodes) {
		uint64_t budget = 1000 * (uint64_t)(pat->n + 1) * (text->n + 1), calls;
		int r = ref_match(pat->s, pat->n, text->s, text->n, flags, budget, &calls);
		fprintf(stderr, "; backtracking gave up after %llu calls", (unsigned long long)calls);
		CU_ASSERT_EQUAL(r, -1);
	}
}

/* The attack of issue 9 and the classic exponential shapes, each within the bound. */
static void test_bound_pathological(void)
{
	struct wm_buf p = {0}, t = {0};

	/* "**" "/" ten times, then "[b]x", against a 40-level path: the 107-byte POST body. */
	buf_rep(&p, "**/", 10);
	buf_add(&p, "[b]x", 4);
	buf_rep(&t, "deep/", 40);
	buf_add(&t, "bb", 2);
	check_bound("**/ x10 [b]x, 40 levels", &p, &t, IGNORE_WM_PATHNAME, 0, true);
	t.n -= 1;
	buf_add(&t, "x", 1);
	check_bound("**/ x10 [b]x, 40 levels, matching", &p, &t, IGNORE_WM_PATHNAME, 1, false);

	/* "**" components that cannot be merged: "**" "/" "d*" "/" ... */
	p.n = t.n = 0;
	buf_rep(&p, "**/d*/", 12);
	buf_add(&p, "[b]x", 4);
	buf_rep(&t, "deep/", 40);
	buf_add(&t, "bb", 2);
	check_bound("(**/d*/) x12 [b]x, 40 levels", &p, &t, IGNORE_WM_PATHNAME, 0, true);

	/* "*a" repeated, then "b", against a's, with and without WM_PATHNAME. */
	p.n = t.n = 0;
	buf_rep(&p, "*a", 6);
	buf_add(&p, "*b", 2);
	buf_rep(&t, "a", 200);
	check_bound("*a*a*a*a*a*a*b vs a x200", &p, &t, 0, 0, false);
	check_bound("*a*a*a*a*a*a*b vs a x200, pathname", &p, &t, IGNORE_WM_PATHNAME, 0, false);
	check_bound("*a*a*a*a*a*a*b vs a x200, casefold", &p, &t, IGNORE_WM_CASEFOLD, 0, false);

	/* "**" components only, and "**" glued into components (plain stars). */
	p.n = t.n = 0;
	buf_rep(&p, "**/", 30);
	buf_add(&p, "**", 2);
	buf_rep(&t, "d/", 500);
	buf_add(&t, "f", 1);
	check_bound("**/ x30 ** vs 500 levels", &p, &t, IGNORE_WM_PATHNAME, 1, false);
	p.n = 0;
	buf_rep(&p, "a**", 20);
	buf_add(&p, "b", 1);
	t.n = 0;
	buf_rep(&t, "a", 300);
	check_bound("a** x20 b vs a x300, no pathname", &p, &t, 0, 0, false);

	/* Long bracket expressions between stars, and a pattern of thousands of tokens. */
	p.n = t.n = 0;
	for (int i = 0; i < 40; i++) {
		const char *piece = "*[[:alpha:][:digit:][:punct:]!-~[[[[[]";
		buf_add(&p, piece, strlen(piece));
	}
	buf_add(&p, "\x01", 1);
	buf_rep(&t, "ab-Z", 100);
	check_bound("(*[long bracket]) x40 vs 400 bytes", &p, &t, 0, 0, false);
	p.n -= 1;
	check_bound("(*[long bracket]) x40 vs 400 bytes, matching", &p, &t, 0, 1, false);
	p.n = t.n = 0;
	buf_rep(&p, "*a", 3000);
	buf_add(&p, "*b", 2);
	buf_rep(&t, "a", 4000);
	check_bound("*a x3000 *b vs a x4000", &p, &t, 0, 0, false);
	p.n = t.n = 0;
	buf_rep(&p, "**/[!x]*/", 200);
	buf_add(&p, "f", 1);
	buf_rep(&t, "dir/", 600);
	buf_add(&t, "f", 1);
	check_bound("(**/[!x]*/) x200 f vs 600 levels", &p, &t, IGNORE_WM_PATHNAME, 1, false);

	fprintf(stderr, "\n    worst: %.4f steps per (P+1)(T+1)", bound_worst);
	free(p.s);
	free(t.s);
}

/*
 * The attack through the gitignore rules, as a scan meets it: one pattern, and at each of 40
 * levels a file "ax" (which the rules' filters pass to the matcher: it ends like the pattern) and
 * a file "bx". The backtracking matcher took 0.3 s for "ax" at depth 18, and 4.5x more per level.
 */
static void test_bound_through_rules(void)
{
	static const char *const pats[] = {"**/**/**/**/**/**/**/**/**/**/[b]x"};
	struct ignore_rules *rules;
	CU_ASSERT_EQUAL_FATAL(ignore_rules_from_patterns(&rules, pats, 1, NULL), 0);
	struct ignore_stack *st = ignore_stack_push_override(NULL, rules);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	struct wm_buf path = {0};
	size_t excluded = 0;
	for (int depth = 1; depth <= 40; depth++) {
		buf_add(&path, "deep/", 5);
		size_t dir_len = path.n;
		buf_add(&path, "ax", 2);
		excluded += ignore_stack_excluded(st, path.s, path.n, false);
		path.s[dir_len] = 'b';
		excluded += ignore_stack_excluded(st, path.s, path.n, false);
		path.n = dir_len - 1;
		excluded += ignore_stack_excluded(st, path.s, path.n, true);
		path.n = dir_len;
	}
	CU_ASSERT_EQUAL(excluded, 40); /* the "bx" */
	ignore_stack_unref(st);
	free(path.s);
}

/* Limits: an empty pattern, a pattern too long to compile, texts with NUL-free binary bytes. */
static void test_edges(void)
{
	struct ignore_wm *wm;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL_FATAL(ignore_wm_compile(&wm, "", 0, IGNORE_WM_PATHNAME, &err), 0);
	CU_ASSERT_TRUE(ignore_wm_match(wm, "", 0));
	CU_ASSERT_FALSE(ignore_wm_match(wm, "a", 1));
	ignore_wm_destroy(wm);
	ignore_wm_destroy(NULL);

	struct wm_buf p = {0};
	buf_rep(&p, "?", 65535);
	CU_ASSERT_EQUAL_FATAL(ignore_wm_compile(&wm, p.s, p.n, 0, &err), 0);
	CU_ASSERT_TRUE(ignore_wm_match(wm, p.s, p.n));
	CU_ASSERT_FALSE(ignore_wm_match(wm, p.s, p.n - 1));
	ignore_wm_destroy(wm);
	buf_add(&p, "*", 1);
	CU_ASSERT_EQUAL(ignore_wm_compile(&wm, p.s, p.n, 0, &err), -E2BIG);
	CU_ASSERT_PTR_NULL(wm);
	CU_ASSERT(strstr(err.msg, "65535") != NULL);
	free(p.s);

	/* Malformed: matches nothing, costs nothing. */
	CU_ASSERT_EQUAL_FATAL(ignore_wm_compile(&wm, "**[[:nope:]]", 12, 0, &err), 0);
	uint64_t steps = 0;
	CU_ASSERT_FALSE(ignore_wm_match_counted(wm, "x", 1, &steps));
	CU_ASSERT_EQUAL(steps, 1);
	ignore_wm_destroy(wm);
	CU_ASSERT_EQUAL(ignore_wildmatch("a\\", "a\\", 0), 0);
	CU_ASSERT_EQUAL(ignore_wildmatch("[\xff-\xff]", "\xff", IGNORE_WM_PATHNAME), 1);
	CU_ASSERT_EQUAL(ignore_wildmatch("\\A", "a", IGNORE_WM_CASEFOLD), 0);
	CU_ASSERT_EQUAL(ignore_wildmatch("\\a", "A", IGNORE_WM_CASEFOLD), 1);
}

/*
 * A pattern whose 256 byte values all behave differently (bracket k takes the bytes with bit k
 * set, then '?'), so the byte class table needs all 256 classes.
 */
static void test_all_byte_classes(void)
{
	struct wm_buf p = {0};
	for (int k = 0; k < 8; k++) {
		buf_add(&p, "[", 1);
		for (unsigned lo = 1u << k; lo < 256; lo += 2u << k) {
			char range[5] = {'\\', (char)lo, '-', '\\', (char)(lo + (1u << k) - 1)};
			buf_add(&p, range, 5);
		}
		buf_add(&p, "]", 1);
	}
	buf_add(&p, "?", 1);
	struct ignore_wm *wm;
	CU_ASSERT_EQUAL_FATAL(ignore_wm_compile(&wm, p.s, p.n, 0, NULL), 0);
	uint64_t rng = 7;
	size_t hits = 0, mismatches = 0;
	for (int round = 0; round < 4096; round++) {
		char text[9];
		bool want = true;
		for (int k = 0; k < 8; k++) {
			unsigned c = round < 256 ? (unsigned)round : (unsigned)(rng_next(&rng) % 256);
			if (round >= 512 && !(c >> k & 1))
				c |= 1u << k; /* mostly matching texts */
			if (round >= 512 && rng_next(&rng) % 16 == 0)
				c ^= 1u << k;
			text[k] = (char)c;
			want &= (c >> k) & 1;
		}
		text[8] = 'z';
		bool got = ignore_wm_match(wm, text, 9);
		hits += got;
		mismatches += got != want;
		mismatches += ref_match(p.s, p.n, text, 9, 0, UINT64_MAX, NULL) != want;
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT(hits > 1000);
	ignore_wm_destroy(wm);
	free(p.s);
}

/* ---------------------------------------------------------------------------------------- */
/* Same answers as the backtracking matcher                                                 */
/* ---------------------------------------------------------------------------------------- */

/* Pieces of random patterns: each wildcard form, brackets well and badly formed, escapes. */
static const char *const rnd_pat_pieces[] = {
	"a", "b", "a", "b", "A", "B", "/", "/", "/", "*", "*", "**", "**", "**/", "/**", "/**/",
	"?", "[ab]", "[!a]", "[^b/]", "[a-c]", "[A-Z]", "[]a]", "[!]-]", "[/]", "[[:upper:]]",
	"[[:alpha:][:digit:]]", "[[:punct:]]", "[[:x]", "[[:nope:]]", "[a-", "[", "]", "-", "!",
	"\\*", "\\/", "\\a", "\\A", "\\", "\\\\", "***", ".", "ab", "*a", "a*", "**\\/",
};

/* Bytes of random texts. */
static const char rnd_text_bytes[] = "aabbAB//-]*\\.[";

/*
 * A random pattern of `pieces` pieces; `well_formed`: none of the pieces that can fail every
 * match (a bad class name, an unterminated bracket expression, a trailing '\', "\A" under
 * casefold, "[/]" under WM_PATHNAME).
 */
static void rnd_pattern(uint64_t *rng, struct wm_buf *p, int pieces, bool well_formed)
{
	p->n = 0;
	for (int i = 0; i < pieces; i++) {
		const char *s = RNG_PICK(rng, rnd_pat_pieces);
		if (well_formed && (strstr(s, "nope") || !strcmp(s, "\\") || !strcmp(s, "\\A") ||
				    !strcmp(s, "[") || !strcmp(s, "[a-") || !strcmp(s, "[/]"))) {
			i--;
			continue;
		}
		buf_add(p, s, strlen(s));
	}
}

static char rnd_byte(uint64_t *rng)
{
	return rnd_text_bytes[rng_next(rng) % (sizeof(rnd_text_bytes) - 1)];
}

/*
 * Where the bracket expression at p[i] ('[') ends (its ']'), roughly as the matcher reads it; p->n
 * when it does not end.
 */
static size_t rnd_bracket_end(const struct wm_buf *p, size_t i)
{
	size_t j = i + 1;
	if (j < p->n && (p->s[j] == '!' || p->s[j] == '^'))
		j++;
	if (j < p->n && p->s[j] == ']')
		j++;
	for (; j < p->n && p->s[j] != ']'; j++) {
		if (p->s[j] == '\\')
			j++;
		else if (p->s[j] == '[' && j + 1 < p->n && p->s[j + 1] == ':') {
			const char *close = strstr(p->s + j + 2, ":]");
			if (close && !memchr(p->s + j + 2, ']', (size_t)(close - p->s) - j - 2))
				j = (size_t)(close - p->s) + 1;
		}
	}
	return j < p->n ? j : p->n;
}

/*
 * A text likely to match `p` under `flags`: its literals (case flipped now and then, more often
 * under casefold), for '?' and
 * bracket expressions a byte they take when one is found, for a star a few random bytes (a '/'
 * now and then, not for a lone '*' under WM_PATHNAME); then, sometimes, one random edit.
 */
static void rnd_text_for(uint64_t *rng, const struct wm_buf *p, unsigned flags, struct wm_buf *t)
{
	t->n = 0;
	for (size_t i = 0; i < p->n; i++) {
		char c = p->s[i];
		if (c == '*') {
			bool single = (i == 0 || p->s[i - 1] != '*') && (i + 1 == p->n || p->s[i + 1] != '*');
			int k = (int)(rng_next(rng) % 4);
			for (int j = 0; j < k; j++) {
				char b = rnd_byte(rng);
				if (b == '/' && (rng_next(rng) % 2 || (single && (flags & IGNORE_WM_PATHNAME))))
					b = 'a';
				buf_add(t, &b, 1);
			}
			continue;
		}
		if (c == '?' || c == '[') {
			char b = rnd_byte(rng);
			size_t end = c == '[' ? rnd_bracket_end(p, i) : i;
			struct ignore_wm *one;
			if (ignore_wm_compile(&one, p->s + i, end - i + 1, flags, NULL) == 0) {
				size_t from = rng_next(rng), nb = sizeof(rnd_text_bytes) - 1;
				for (size_t k = 0; k < nb; k++) {
					const char *cand = &rnd_text_bytes[(from + k) % nb];
					if (ignore_wm_match(one, cand, 1)) {
						b = *cand;
						break;
					}
				}
				ignore_wm_destroy(one);
			}
			buf_add(t, &b, 1);
			i = end;
			continue;
		}
		if (c == '\\' && i + 1 < p->n)
			c = p->s[++i];
		bool fold = flags & IGNORE_WM_CASEFOLD;
		if (rng_next(rng) % (fold ? 8 : 256) == 0 && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
			c ^= 0x20;
		buf_add(t, &c, 1);
	}
	uint64_t edit = rng_next(rng) % 8;
	if (edit == 0 && t->n) {
		t->s[rng_next(rng) % t->n] = rnd_byte(rng);
	} else if (edit == 1 && t->n) {
		size_t at = rng_next(rng) % t->n;
		memmove(t->s + at, t->s + at + 1, t->n - at);
		t->n--;
	} else if (edit == 2) {
		buf_add(t, "/", 1);
	}
}

static void rnd_text(uint64_t *rng, struct wm_buf *t, size_t max)
{
	t->n = 0;
	size_t n = rng_next(rng) % (max + 1);
	for (size_t i = 0; i < n; i++) {
		char b = rnd_byte(rng);
		buf_add(t, &b, 1);
	}
}

/** Counts of one differential run. */
struct diff_stats {
	size_t cases, matches, skipped, mismatches;
};

/* Compares one compiled pattern with the reference on one text; `prefixed` as in the caller. */
static void diff_one(struct diff_stats *st, const struct ignore_wm *wm, const struct wm_buf *p,
		     const struct wm_buf *t, unsigned flags, const struct ignore_wm *wm_long,
		     struct wm_buf *scratch, size_t prefix_len)
{
	int want = ref_match(p->s, p->n, t->s, t->n, flags, 200000, NULL);
	if (want < 0) {
		st->skipped++;
		return;
	}
	bool got = ignore_wm_match(wm, t->s, t->n);
	bool got_long = got;
	if (wm_long) {
		scratch->n = prefix_len;
		buf_add(scratch, t->s, t->n);
		got_long = ignore_wm_match(wm_long, scratch->s, scratch->n);
	}
	st->cases++;
	st->matches += want;
	if ((got != (want == 1) || got_long != got) && st->mismatches++ < 10)
		fprintf(stderr, "\n    flags %u: pattern \"%s\" text \"%s\": got %d (long form %d), "
				"git's algorithm %d",
			flags, p->s, t->s, got, got_long, want);
}

/*
 * Random patterns and texts in all four modes, seeded: the compiled matcher must agree with the
 * backtracking reference on every case the reference finishes within its budget. Each pattern is
 * also compiled behind 32 "x/" components (64 tokens, so the long-pattern matcher runs) and
 * matched against the text behind the same prefix: the prefix matches exactly and leaves the
 * pattern's first "**" a whole component, so the answer must not change.
 */
static void test_random_vs_backtracking(void)
{
	static const unsigned modes[4] = {0, IGNORE_WM_CASEFOLD, IGNORE_WM_PATHNAME,
					  IGNORE_WM_PATHNAME | IGNORE_WM_CASEFOLD};
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	struct wm_buf p = {0}, t = {0}, lp = {0}, lt = {0};
	struct diff_stats st = {0};
	size_t prefix_len = 64;
	for (int round = 0; round < unit_rounds(24000); round++) {
		rnd_pattern(&rng, &p, 1 + (int)(rng_next(&rng) % 7), false);
		lp.n = 0;
		buf_rep(&lp, "x/", 32);
		buf_add(&lp, p.s, p.n);
		lt.n = 0;
		buf_add(&lt, lp.s, prefix_len);
		for (int m = 0; m < 4; m++) {
			struct ignore_wm *wm, *wm_long = NULL;
			CU_ASSERT_EQUAL_FATAL(ignore_wm_compile(&wm, p.s, p.n, modes[m], NULL), 0);
			bool check_long = round % 4 == 0;
			if (check_long)
				CU_ASSERT_EQUAL_FATAL(
					ignore_wm_compile(&wm_long, lp.s, lp.n, modes[m], NULL), 0);
			for (int k = 0; k < 4; k++) {
				if (k < 2)
					rnd_text_for(&rng, &p, modes[m], &t);
				else
					rnd_text(&rng, &t, 10);
				diff_one(&st, wm, &p, &t, modes[m], wm_long, &lt, prefix_len);
			}
			ignore_wm_destroy(wm);
			ignore_wm_destroy(wm_long);
		}
	}
	fprintf(stderr, "\n    %zu cases, %zu matches, %zu beyond the reference's budget", st.cases,
		st.matches, st.skipped);
	CU_ASSERT_EQUAL(st.mismatches, 0);
	CU_ASSERT(st.cases >= (size_t)unit_rounds(24000) * 12);
	CU_ASSERT(st.matches > st.cases / 10);
	CU_ASSERT(st.skipped < st.cases / 1000);
	free(p.s);
	free(t.s);
	free(lp.s);
	free(lt.s);
}

/* Long random patterns (64 to 200 tokens) against texts made from them. */
static void test_random_long_vs_backtracking(void)
{
	static const unsigned modes[4] = {0, IGNORE_WM_CASEFOLD, IGNORE_WM_PATHNAME,
					  IGNORE_WM_PATHNAME | IGNORE_WM_CASEFOLD};
	uint64_t rng = 0x2545f4914f6cdd1dull;
	struct wm_buf p = {0}, t = {0};
	struct diff_stats st = {0};
	for (int round = 0; round < unit_rounds(3000); round++) {
		rnd_pattern(&rng, &p, 50 + (int)(rng_next(&rng) % 100), true);
		unsigned flags = modes[round % 4];
		struct ignore_wm *wm;
		CU_ASSERT_EQUAL_FATAL(ignore_wm_compile(&wm, p.s, p.n, flags, NULL), 0);
		for (int k = 0; k < 4; k++) {
			rnd_text_for(&rng, &p, flags, &t);
			diff_one(&st, wm, &p, &t, flags, NULL, NULL, 0);
		}
		ignore_wm_destroy(wm);
	}
	fprintf(stderr, "\n    %zu cases, %zu matches, %zu beyond the reference's budget", st.cases,
		st.matches, st.skipped);
	CU_ASSERT_EQUAL(st.mismatches, 0);
	CU_ASSERT(st.cases >= (size_t)unit_rounds(3000) * 3);
	CU_ASSERT(st.matches > st.cases / 50);
	free(p.s);
	free(t.s);
}

/* ---------------------------------------------------------------------------------------- */
/* Micro-benchmark: `test_wildmatch bench`                                                  */
/* ---------------------------------------------------------------------------------------- */

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * The glob patterns of the kernel's .gitignore files (the ones the literal and suffix shortcuts
 * do not take) against kernel file names and paths: ns per match, compiled against backtracking.
 */
static void test_bench(void)
{
	static const struct {
		const char *pat;
		unsigned flags;
	} pats[] = {
		{".*", 0}, {"*.[aos]", 0}, {"*.mod.[co]", 0}, {"*.dtb*", 0}, {"*.tab.[ch]", 0},
		{"*.asn1.[ch]", 0}, {"*.so.dbg", 0}, {"*.lex.c", 0}, {"vmlinux*", 0}, {"*.c.[012]*.*", 0},
		{"*.gz", 0}, {"*.[ch]~", 0}, {"modules.order", 0}, {"[0-9]*.patch", 0},
		{"/include/config/**", IGNORE_WM_PATHNAME}, {"**/generated/*.h", IGNORE_WM_PATHNAME},
		{"scripts/*/*.o", IGNORE_WM_PATHNAME}, {"doc/**/*.html", IGNORE_WM_PATHNAME},
	};
	static const char *const names[] = {
		"main.c", "Makefile", "Kconfig", "sched.h", "core.o", "built-in.a", "vmlinux.lds.S",
		"foo.mod.c", "bar.dtb.S", "parser.tab.c", "x509.asn1.h", ".gitignore", "README.rst",
		"imx8mq-evk.dts", "drivers/gpu/drm/i915/display/intel_display.c",
		"include/generated/autoconf.h", "scripts/kconfig/conf.o", "Documentation/admin/index.rst",
	};
	const size_t np = sizeof(pats) / sizeof(pats[0]), nn = sizeof(names) / sizeof(names[0]);
	struct ignore_wm *wm[sizeof(pats) / sizeof(pats[0])];
	size_t len[sizeof(names) / sizeof(names[0])];
	for (size_t i = 0; i < np; i++)
		CU_ASSERT_EQUAL_FATAL(
			ignore_wm_compile(&wm[i], pats[i].pat, strlen(pats[i].pat), pats[i].flags, NULL),
			0);
	for (size_t j = 0; j < nn; j++)
		len[j] = strlen(names[j]);
	const int reps = 20000;
	double best_new = 1e9, best_ref = 1e9, best_compile = 1e9;
	size_t hits_new = 0, hits_ref = 0;
	for (int pass = 0; pass < 9; pass++) {
		size_t h = 0;
		double t0 = bench_now();
		for (int r = 0; r < reps; r++)
			for (size_t i = 0; i < np; i++)
				for (size_t j = 0; j < nn; j++)
					h += ignore_wm_match(wm[i], names[j], len[j]);
		double t1 = bench_now();
		hits_new = h;
		h = 0;
		for (int r = 0; r < reps; r++)
			for (size_t i = 0; i < np; i++)
				for (size_t j = 0; j < nn; j++)
					h += ref_match(pats[i].pat, strlen(pats[i].pat), names[j], len[j],
						       pats[i].flags, UINT64_MAX, NULL) == 1;
		double t2 = bench_now();
		hits_ref = h;
		for (int r = 0; r < reps / 100; r++)
			for (size_t i = 0; i < np; i++) {
				struct ignore_wm *w;
				if (ignore_wm_compile(&w, pats[i].pat, strlen(pats[i].pat), pats[i].flags,
						      NULL) == 0)
					ignore_wm_destroy(w);
			}
		double t3 = bench_now();
		if (t1 - t0 < best_new)
			best_new = t1 - t0;
		if (t2 - t1 < best_ref)
			best_ref = t2 - t1;
		if (t3 - t2 < best_compile)
			best_compile = t3 - t2;
	}
	double calls = (double)reps * (double)np * (double)nn;
	fprintf(stderr, "\n    %zu patterns x %zu names: compiled %.1f ns/match, backtracking %.1f "
			"ns/match; compiling %.0f ns/pattern",
		np, nn, best_new * 1e9 / calls, best_ref * 1e9 / calls,
		best_compile * 1e9 / ((double)(reps / 100) * (double)np));
	CU_ASSERT_EQUAL(hits_new, hits_ref);
	for (size_t i = 0; i < np; i++)
		ignore_wm_destroy(wm[i]);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "bench")) {
		static const struct unit_test bench[] = {
			{"micro-benchmark", test_bench},
			{NULL, NULL},
		};
		return unit_run("wildmatch_bench", bench);
	}
	static const struct unit_test tests[] = {
		{"bound on pathological patterns", test_bound_pathological},
		{"bound through the gitignore rules", test_bound_through_rules},
		{"edges and limits", test_edges},
		{"256 byte classes", test_all_byte_classes},
		{"random patterns vs backtracking", test_random_vs_backtracking},
		{"long random patterns vs backtracking", test_random_long_vs_backtracking},
		{NULL, NULL},
	};
	return unit_run("wildmatch", tests);
}
