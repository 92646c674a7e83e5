/* test_wildmatch_ref.h: git's backtracking wildmatch, the reference for test_wildmatch.c. */
#ifndef LEINDEX_TEST_WILDMATCH_REF_H
#define LEINDEX_TEST_WILDMATCH_REF_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "service/scan/ignore.h"

/*
 * The reference is git's dowild() (wildmatch.c, as of git 2.39) as the service ran it before
 * patterns were compiled: depth-first backtracking with git's WM_ABORT_ALL and
 * WM_ABORT_TO_STARSTAR pruning and its skip to the next literal. It counts its calls and gives up
 * past a budget, so the tests can show where it explodes and compare answers where it does not.
 */

enum ref_res { REF_MATCH, REF_FAIL, REF_ABORT_ALL, REF_ABORT_TO_DSTAR };

struct ref_call {
	const unsigned char *pstart, *pend, *tend;
	bool fold, pathname;
	uint64_t steps, budget;
	bool over; /**< the budget ran out: the answer is unknown */
};

static unsigned char ref_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

static bool ref_is_special(unsigned char c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

static int ref_class(const unsigned char *name, size_t n, unsigned char c, bool fold)
{
	static const char *const names[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
					    "lower", "print", "punct", "space", "upper", "xdigit"};
	bool up = c >= 'A' && c <= 'Z', lo = c >= 'a' && c <= 'z', dig = c >= '0' && c <= '9';
	int k = -1;
	for (int i = 0; i < 12; i++)
		if (strlen(names[i]) == n && memcmp(name, names[i], n) == 0)
			k = i;
	switch (k) {
	case 0: return up || lo || dig;
	case 1: return up || lo;
	case 2: return c == ' ' || c == '\t';
	case 3: return c < 0x20 || c == 0x7f;
	case 4: return dig;
	case 5: return c > 0x20 && c < 0x7f;
	case 6: return lo;
	case 7: return c >= 0x20 && c < 0x7f;
	case 8: return c > 0x20 && c < 0x7f && !(up || lo || dig);
	case 9: return c == ' ' || c == '\t' || c == '\n' || c == '\r';
	case 10: return up || (fold && lo);
	case 11: return dig || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
	default: return -1;
	}
}

/* git's bracket expression loop: 1 hit, 0 miss, -1 malformed; *pp left on the closing ']'. */
static int ref_bracket(const struct ref_call *wm, const unsigned char **pp, unsigned char t)
{
	const unsigned char *p = *pp + 1, *pe = wm->pend;
	bool negated = false, hit = false, first = true;
	int prev = -1;
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
				continue;
			}
			int r = ref_class(name, (size_t)(q - 1 - name), t, wm->fold);
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

static enum ref_res ref_run(struct ref_call *wm, const unsigned char *p, const unsigned char *t);

static enum ref_res ref_star(struct ref_call *wm, const unsigned char *p, const unsigned char *t)
{
	const unsigned char *star = p, *pe = wm->pend, *te = wm->tend;
	bool cross = !wm->pathname;
	while (p < pe && *p == '*')
		p++;
	if (wm->pathname && p - star >= 2) {
		bool left = star == wm->pstart || star[-1] == '/';
		bool right = p == pe || *p == '/' || (*p == '\\' && p + 1 < pe && p[1] == '/');
		if (left && right) {
			if (p < pe && *p == '/' && ref_run(wm, p + 1, t) == REF_MATCH)
				return REF_MATCH;
			cross = true;
		}
	}
	if (p == pe) {
		if (!cross && memchr(t, '/', (size_t)(te - t)))
			return REF_FAIL;
		return REF_MATCH;
	}
	if (!cross && *p == '/') {
		const unsigned char *slash = memchr(t, '/', (size_t)(te - t));
		if (!slash)
			return REF_FAIL;
		return ref_run(wm, p + 1, slash + 1);
	}
	for (; t < te; t++) {
		if (!ref_is_special(*p)) {
			unsigned char want = wm->fold ? ref_lower(*p) : *p;
			while (t < te && (cross || *t != '/') && (wm->fold ? ref_lower(*t) : *t) != want)
				t++;
			if (t == te || (wm->fold ? ref_lower(*t) : *t) != want)
				return REF_FAIL;
		}
		enum ref_res r = ref_run(wm, p, t);
		if (r != REF_FAIL) {
			if (!cross || r != REF_ABORT_TO_DSTAR)
				return r;
		} else if (!cross && *t == '/') {
			return REF_ABORT_TO_DSTAR;
		}
	}
	return REF_ABORT_ALL;
}

static enum ref_res ref_run(struct ref_call *wm, const unsigned char *p, const unsigned char *t)
{
	const unsigned char *pe = wm->pend, *te = wm->tend;
	if (++wm->steps > wm->budget) {
		wm->over = true;
		return REF_ABORT_ALL; /* unwinds at once */
	}
	for (; p < pe; p++, t++) {
		if (*p == '*')
			return ref_star(wm, p, t);
		if (t == te)
			return REF_ABORT_ALL;
		unsigned char tc = wm->fold ? ref_lower(*t) : *t;
		switch (*p) {
		case '?':
			if (wm->pathname && tc == '/')
				return REF_FAIL;
			break;
		case '[': {
			int r = ref_bracket(wm, &p, tc);
			if (r < 0)
				return REF_ABORT_ALL;
			if (r == 0 || (wm->pathname && tc == '/'))
				return REF_FAIL;
			break;
		}
		case '\\':
			if (++p == pe || tc != *p)
				return REF_FAIL;
			break;
		default:
			if (tc != (wm->fold ? ref_lower(*p) : *p))
				return REF_FAIL;
			break;
		}
	}
	return t == te ? REF_MATCH : REF_FAIL;
}

/* 1 match, 0 no match, -1 the budget of calls ran out; *steps gets the calls made. */
static int ref_match(const char *pat, size_t plen, const char *text, size_t tlen, unsigned flags,
		     uint64_t budget, uint64_t *steps)
{
	struct ref_call wm = {
		.pstart = (const unsigned char *)pat,
		.pend = (const unsigned char *)pat + plen,
		.tend = (const unsigned char *)text + tlen,
		.fold = (flags & IGNORE_WM_CASEFOLD) != 0,
		.pathname = (flags & IGNORE_WM_PATHNAME) != 0,
		.budget = budget,
	};
	enum ref_res r = ref_run(&wm, wm.pstart, (const unsigned char *)text);
	if (steps)
		*steps = wm.steps;
	return wm.over ? -1 : r == REF_MATCH;
}

#endif
