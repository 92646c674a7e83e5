/*
 * fuzz_gitignore.c: gitignore parsing and matching, and wildmatch (service/scan/ignore.h). The
 * rules come from .gitignore files in scanned trees and from the `ignore` option of POST /scans,
 * so both the text and the paths are the client's. Matching runs once per scanned entry: an
 * input that makes one match slow is a finding, hence -timeout.
 *
 * fuzz-options: -max_len=4096 -timeout=5
 *
 * Input: byte 0 holds the wildmatch flags (bits 0-1); the rest splits at its first NUL into A
 * and B.
 *  - wildmatch(A, B up to its next NUL, flags); under IGNORE_WM_CASEFOLD lowering the text's
 *    ASCII letters must not change the answer (git folds the text at every comparison).
 *  - A parsed as a .gitignore at the root; the paths are B's lines (or A's lines when there is
 *    no B), with empty, "." and ".." components dropped, each asked as a file and as a
 *    directory. Three oracles:
 *     1. the same text parsed for directory "d/e" answers the same for "d/e/PATH";
 *     2. each pattern line alone (ignore_rules_from_patterns) matches exactly when git's
 *        definition says so: a pattern without '/' is wildmatch()ed against the basename, one
 *        with '/' is anchored: its literal prefix compared, the rest wildmatch()ed with
 *        IGNORE_WM_PATHNAME, as git's dir.c does (this checks the prefilters of ignore.c);
 *     3. the whole set (indexed when it is large) answers what its last matching line says,
 *        found by asking each line alone.
 */
#include <string.h>

#include "service/scan/ignore.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_IGN_MAX_LINES 64
#define FUZZ_IGN_MAX_PATHS 8
#define FUZZ_IGN_PATH_MAX 256
#define FUZZ_IGN_BASE "d/e"

/* One line of A as the parser sees it: without its line end, a CR of CRLF dropped. */
struct fuzz_ign_line {
	const char *s;
	size_t n;
};

/* A copy of n bytes as a C string (cut at a NUL byte, as the parser cuts a line). */
static char *fuzz_ign_cstr(const char *s, size_t n)
{
	char *c = fuzz_alloc(n + 1);
	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

/* Splits `text` into lines the way ignore_rules_parse() does (BOM, LF, CRLF). */
static size_t fuzz_ign_lines(const char *text, size_t len, struct fuzz_ign_line *out, size_t max)
{
	const char *s = text, *end = text + len;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	size_t count = 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);
		if (n && s[0] != '#' && s[n - 1] == '\r')
			n--;
		if (count == max)
			return max + 1;
		out[count++] = (struct fuzz_ign_line){s, n};
		s = nl ? nl + 1 : end;
	}
	return count;
}

/* Makes `raw` a path as the scanner gives one: components joined by '/', none empty, ".", "..". */
static size_t fuzz_ign_path(const char *raw, size_t n, char *out)
{
	size_t len = 0, i = 0;
	while (i < n) {
		size_t start = i;
		while (i < n && raw[i] != '/')
			i++;
		char comp[FUZZ_IGN_PATH_MAX];
		size_t c = 0;
		for (size_t k = start; k < i && c < sizeof(comp); k++)
			if (raw[k] != '\0')
				comp[c++] = raw[k];
		i++;
		bool dots = (c == 1 || c == 2) && comp[0] == '.' && comp[c - 1] == '.';
		if (c == 0 || dots)
			continue;
		if (len + (len > 0) + c >= FUZZ_IGN_PATH_MAX)
			break;
		if (len > 0)
			out[len++] = '/';
		memcpy(out + len, comp, c);
		len += c;
	}
	out[len] = '\0';
	return len;
}

static void fuzz_ign_wildmatch(const char *pattern, const char *text, unsigned flags)
{
	bool m = ignore_wildmatch(pattern, text, flags) == 1;
	if (!(flags & IGNORE_WM_CASEFOLD))
		return;
	char *lower = fuzz_ign_cstr(text, strlen(text));
	for (char *c = lower; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	FUZZ_CHECK((ignore_wildmatch(pattern, lower, flags) == 1) == m,
		   "casefold: \"%s\" matches \"%s\" and \"%s\" differently", pattern, text, lower);
	free(lower);
}

/* A stack of one rule set made by ignore_rules_from_patterns(). */
static struct ignore_stack *fuzz_ign_patterns(const char *const *pats, size_t count)
{
	struct errbuf err = {0};
	struct ignore_rules *r;
	FUZZ_CHECK(ignore_rules_from_patterns(&r, pats, count, &err) == 0, "from_patterns: %s",
		   err.msg);
	struct ignore_stack *s = ignore_stack_push(NULL, r);
	FUZZ_CHECK(s != NULL, "out of memory");
	return s;
}

/* A stack of A parsed as the .gitignore of directory `base`. */
static struct ignore_stack *fuzz_ign_parse(const char *text, size_t len, const char *base)
{
	struct errbuf err = {0};
	struct ignore_rules *r;
	FUZZ_CHECK(ignore_rules_parse(&r, text, len, base, strlen(base), &err) == 0, "parse: %s",
		   err.msg);
	struct ignore_stack *s = ignore_stack_push(NULL, r);
	FUZZ_CHECK(s != NULL, "out of memory");
	return s;
}

/* One pattern line, its stack alone, and what git's definition needs to match it. */
struct fuzz_ign_single {
	char *line;
	bool negative;
	struct ignore_stack *stack; /* the line alone; negative: "*" then the line */
	bool has_ref;   /* false: no pattern, or trailing spaces that need git's trimming rules */
	bool dir_only;  /* "pattern/" */
	bool anchored;  /* a '/' before the end: matched against the path, else the basename */
	char *pat;      /* without '!', the trailing '/', and (anchored) the leading '/' */
	size_t prefix;  /* anchored: bytes before the first of * ? [ \ */
};

/* Reads line `l` (NUL-terminated) as git's add_pattern() does, for fuzz_ign_reference(). */
static void fuzz_ign_study(struct fuzz_ign_single *one)
{
	const char *s = one->line;
	size_t n = strlen(s);
	one->has_ref = !(n == 0 || s[0] == '#' || s[n - 1] == ' ');
	if (!one->has_ref)
		return;
	if (s[0] == '!') {
		s++;
		n--;
	}
	one->dir_only = n > 0 && s[n - 1] == '/';
	if (one->dir_only)
		n--;
	one->anchored = memchr(s, '/', n) != NULL;
	if (one->anchored && s[0] == '/') {
		s++;
		n--;
	}
	one->pat = fuzz_ign_cstr(s, n);
	one->prefix = strcspn(one->pat, "*?[\\");
}

/*
 * git's verdict (dir.c: match_basename(), match_pathname()) of one studied pattern line on
 * `path`: 1 or 0 for "matches", -1 when the line has no reference.
 */
static int fuzz_ign_reference(const struct fuzz_ign_single *one, const char *path,
			      size_t path_len, bool is_dir)
{
	if (!one->has_ref)
		return -1;
	if (one->pat[0] == '\0' || (one->dir_only && !is_dir))
		return 0;
	if (!one->anchored) {
		const char *base = strrchr(path, '/');
		return ignore_wildmatch(one->pat, base ? base + 1 : path, 0) == 1;
	}
	return one->prefix <= path_len && memcmp(one->pat, path, one->prefix) == 0 &&
	       ignore_wildmatch(one->pat + one->prefix, path + one->prefix, IGNORE_WM_PATHNAME) == 1;
}

static void fuzz_ign_singles(const struct fuzz_ign_line *lines, size_t count,
			     struct fuzz_ign_single *out)
{
	for (size_t i = 0; i < count; i++) {
		char *l = fuzz_ign_cstr(lines[i].s, lines[i].n);
		out[i] = (struct fuzz_ign_single){.line = l, .negative = l[0] == '!'};
		const char *pats[2] = {"*", l};
		out[i].stack = out[i].negative ? fuzz_ign_patterns(pats, 2)
					       : fuzz_ign_patterns(pats + 1, 1);
		fuzz_ign_study(&out[i]);
	}
}

/* Whether line i alone matches `path`. */
static bool fuzz_ign_single_matches(const struct fuzz_ign_single *one, const char *path,
				    size_t len, bool is_dir)
{
	bool excluded = ignore_stack_excluded(one->stack, path, len, is_dir);
	return one->negative ? !excluded : excluded;
}

static void fuzz_ign_check_path(struct ignore_stack *all, struct ignore_stack *based,
				const struct fuzz_ign_single *singles, size_t count,
				const char *path, size_t len, bool is_dir)
{
	bool got = ignore_stack_excluded(all, path, len, is_dir);

	char under[sizeof(FUZZ_IGN_BASE) + FUZZ_IGN_PATH_MAX];
	memcpy(under, FUZZ_IGN_BASE "/", sizeof(FUZZ_IGN_BASE));
	memcpy(under + sizeof(FUZZ_IGN_BASE), path, len + 1);
	FUZZ_CHECK(ignore_stack_excluded(based, under, sizeof(FUZZ_IGN_BASE) + len, is_dir) == got,
		   "\"%s\" (dir %d) is excluded %d at the root but not so below %s", path, is_dir,
		   got, FUZZ_IGN_BASE);

	if (!singles)
		return;
	int want = -1;
	for (size_t i = count; i-- > 0;) {
		bool m = fuzz_ign_single_matches(&singles[i], path, len, is_dir);
		int ref = fuzz_ign_reference(&singles[i], path, len, is_dir);
		FUZZ_CHECK(ref < 0 || m == (ref == 1),
			   "pattern \"%s\" %s \"%s\" (dir %d), git's rule says otherwise",
			   singles[i].line, m ? "matches" : "does not match", path, is_dir);
		if (m && want < 0)
			want = !singles[i].negative;
	}
	FUZZ_CHECK(got == (want == 1),
		   "\"%s\" (dir %d): the set says %d, its last matching line %d", path, is_dir, got,
		   want);
}

static void fuzz_ign_rules(const char *a, size_t alen, const char *b, size_t blen)
{
	struct fuzz_ign_line lines[FUZZ_IGN_MAX_LINES];
	size_t count = fuzz_ign_lines(a, alen, lines, FUZZ_IGN_MAX_LINES);

	/* The paths: B's lines, else A's. */
	char paths[FUZZ_IGN_MAX_PATHS][FUZZ_IGN_PATH_MAX];
	size_t plen[FUZZ_IGN_MAX_PATHS], npaths = 0;
	const char *src = b ? b : a, *end = b ? b + blen : a + alen;
	while (src < end && npaths < FUZZ_IGN_MAX_PATHS) {
		const char *nl = memchr(src, '\n', (size_t)(end - src));
		const char *e = nl ? nl : end;
		const char *s = src;
		while (s < e && (*s == '!' || *s == '#'))
			s++;
		plen[npaths] = fuzz_ign_path(s, (size_t)(e - s), paths[npaths]);
		if (plen[npaths] > 0)
			npaths++;
		src = nl ? nl + 1 : end;
	}

	struct ignore_stack *all = fuzz_ign_parse(a, alen, "");
	struct ignore_stack *based = fuzz_ign_parse(a, alen, FUZZ_IGN_BASE);
	struct fuzz_ign_single singles[FUZZ_IGN_MAX_LINES];
	bool oracle = count <= FUZZ_IGN_MAX_LINES && npaths > 0;
	if (oracle)
		fuzz_ign_singles(lines, count, singles);
	for (size_t i = 0; i < npaths; i++)
		for (int d = 0; d < 2; d++)
			fuzz_ign_check_path(all, based, oracle ? singles : NULL, count, paths[i],
					    plen[i], d);
	if (oracle)
		for (size_t i = 0; i < count; i++) {
			ignore_stack_unref(singles[i].stack);
			free(singles[i].pat);
			free(singles[i].line);
		}
	ignore_stack_unref(based);
	ignore_stack_unref(all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned flags = data[0] & (IGNORE_WM_CASEFOLD | IGNORE_WM_PATHNAME);
	const char *rest = (const char *)data + 1;
	size_t rlen = size - 1;
	const char *nul = memchr(rest, '\0', rlen);
	size_t alen = nul ? (size_t)(nul - rest) : rlen;
	const char *b = nul ? nul + 1 : NULL;
	size_t blen = nul ? rlen - alen - 1 : 0;

	char *pattern = fuzz_ign_cstr(rest, alen);
	char *text = fuzz_ign_cstr(b ? b : "", b ? strnlen(b, blen) : 0);
	fuzz_ign_wildmatch(pattern, text, flags);
	free(text);
	free(pattern);

	fuzz_ign_rules(rest, alen, b, blen);
	return 0;
}
