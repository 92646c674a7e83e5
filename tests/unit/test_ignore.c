/* test_ignore.c: git's wildmatch vectors (t3070) and gitignore precedence, anchoring, escapes. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/scan/ignore.h"
#include "tests/unit/unit.h"

/*
 * The `match` lines of git's t/t3070-wildmatch.sh, converted by a script: text, pattern, and the
 * expected results of test-tool's wildmatch (WM_PATHNAME), iwildmatch (WM_PATHNAME|WM_CASEFOLD),
 * pathmatch (no flag) and ipathmatch (WM_CASEFOLD). Lines with ten fields give the test-tool
 * results first and the ls-files results after; only the former apply to a matcher.
 */
struct wm_vector {
	const char *text, *pattern, *expect;
};

static const struct wm_vector test_t3070[] = {
	/* Basic wildmatch features */
	{"foo", "foo", "1111"},
	{"foo", "bar", "0000"},
	{"", "", "1111"},
	{"foo", "\?\?\?", "1111"},
	{"foo", "\?\?", "0000"},
	{"foo", "*", "1111"},
	{"foo", "f*", "1111"},
	{"foo", "*f", "0000"},
	{"foo", "*foo*", "1111"},
	{"foobar", "*ob*a*r*", "1111"},
	{"aaaaaaabababab", "*ab", "1111"},
	{"foo*", "foo\\*", "1111"},
	{"foobar", "foo\\*bar", "0000"},
	{"f\\oo", "f\\\\oo", "1111"},
	{"ball", "*[al]\?", "1111"},
	{"ten", "[ten]", "0000"},
	{"ten", "**[!te]", "1111"},
	{"ten", "**[!ten]", "0000"},
	{"ten", "t[a-g]n", "1111"},
	{"ten", "t[!a-g]n", "0000"},
	{"ton", "t[!a-g]n", "1111"},
	{"ton", "t[^a-g]n", "1111"},
	{"a]b", "a[]]b", "1111"},
	{"a-b", "a[]-]b", "1111"},
	{"a]b", "a[]-]b", "1111"},
	{"aab", "a[]-]b", "0000"},
	{"aab", "a[]a-]b", "1111"},
	{"]", "]", "1111"},
	/* Extended slash-matching features */
	{"foo/baz/bar", "foo*bar", "0011"},
	{"foo/baz/bar", "foo**bar", "0011"},
	{"foobazbar", "foo**bar", "1111"},
	{"foo/baz/bar", "foo/**/bar", "1111"},
	{"foo/baz/bar", "foo/**/**/bar", "1100"},
	{"foo/b/a/z/bar", "foo/**/bar", "1111"},
	{"foo/b/a/z/bar", "foo/**/**/bar", "1111"},
	{"foo/bar", "foo/**/bar", "1100"},
	{"foo/bar", "foo/**/**/bar", "1100"},
	{"foo/bar", "foo\?bar", "0011"},
	{"foo/bar", "foo[/]bar", "0011"},
	{"foo/bar", "foo[^a-z]bar", "0011"},
	{"foo/bar", "f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "0011"},
	{"foo-bar", "f[^eiu][^eiu][^eiu][^eiu][^eiu]r", "1111"},
	{"foo", "**/foo", "1100"},
	{"XXX/foo", "**/foo", "1111"},
	{"bar/baz/foo", "**/foo", "1111"},
	{"bar/baz/foo", "*/foo", "0011"},
	{"foo/bar/baz", "**/bar*", "0011"},
	{"deep/foo/bar/baz", "**/bar/*", "1111"},
	{"deep/foo/bar/baz/", "**/bar/*", "0011"},
	{"deep/foo/bar/baz/", "**/bar/**", "1111"},
	{"deep/foo/bar", "**/bar/*", "0000"},
	{"deep/foo/bar/", "**/bar/**", "1111"},
	{"foo/bar/baz", "**/bar**", "0011"},
	{"foo/bar/baz/x", "*/bar/**", "1111"},
	{"deep/foo/bar/baz/x", "*/bar/**", "0011"},
	{"deep/foo/bar/baz/x", "**/bar/*/*", "1111"},
	/* Various additional tests */
	{"acrt", "a[c-c]st", "0000"},
	{"acrt", "a[c-c]rt", "1111"},
	{"]", "[!]-]", "0000"},
	{"a", "[!]-]", "1111"},
	{"", "\\", "0000"},
	{"\\", "\\", "0000"},
	{"XXX/\\", "*/\\", "0000"},
	{"XXX/\\", "*/\\\\", "1111"},
	{"foo", "foo", "1111"},
	{"@foo", "@foo", "1111"},
	{"foo", "@foo", "0000"},
	{"[ab]", "\\[ab]", "1111"},
	{"[ab]", "[[]ab]", "1111"},
	{"[ab]", "[[:]ab]", "1111"},
	{"[ab]", "[[::]ab]", "0000"},
	{"[ab]", "[[:digit]ab]", "1111"},
	{"[ab]", "[\\[:]ab]", "1111"},
	{"\?a\?b", "\\\?\?\\\?b", "1111"},
	{"abc", "\\a\\b\\c", "1111"},
	{"foo", "", "0000"},
	{"foo/bar/baz/to", "**/t[o]", "1111"},
	/* Character class tests */
	{"a1B", "[[:alpha:]][[:digit:]][[:upper:]]", "1111"},
	{"a", "[[:digit:][:upper:][:space:]]", "0101"},
	{"A", "[[:digit:][:upper:][:space:]]", "1111"},
	{"1", "[[:digit:][:upper:][:space:]]", "1111"},
	{"1", "[[:digit:][:upper:][:spaci:]]", "0000"},
	{" ", "[[:digit:][:upper:][:space:]]", "1111"},
	{".", "[[:digit:][:upper:][:space:]]", "0000"},
	{".", "[[:digit:][:punct:][:space:]]", "1111"},
	{"5", "[[:xdigit:]]", "1111"},
	{"f", "[[:xdigit:]]", "1111"},
	{"D", "[[:xdigit:]]", "1111"},
	{"_", "[[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:graph:][:lower:][:print:][:punct:][:space:][:upper:][:xdigit:]]", "1111"},
	{".", "[^[:alnum:][:alpha:][:blank:][:cntrl:][:digit:][:lower:][:space:][:upper:][:xdigit:]]", "1111"},
	{"5", "[a-c[:digit:]x-z]", "1111"},
	{"b", "[a-c[:digit:]x-z]", "1111"},
	{"y", "[a-c[:digit:]x-z]", "1111"},
	{"q", "[a-c[:digit:]x-z]", "0000"},
	/* Additional tests, including some malformed wildmatch patterns */
	{"]", "[\\\\-^]", "1111"},
	{"[", "[\\\\-^]", "0000"},
	{"-", "[\\-_]", "1111"},
	{"]", "[\\]]", "1111"},
	{"\\]", "[\\]]", "0000"},
	{"\\", "[\\]]", "0000"},
	{"ab", "a[]b", "0000"},
	{"a[]b", "a[]b", "0000"},
	{"ab[", "ab[", "0000"},
	{"ab", "[!", "0000"},
	{"ab", "[-", "0000"},
	{"-", "[-]", "1111"},
	{"-", "[a-", "0000"},
	{"-", "[!a-", "0000"},
	{"-", "[--A]", "1111"},
	{"5", "[--A]", "1111"},
	{" ", "[ --]", "1111"},
	{"$", "[ --]", "1111"},
	{"-", "[ --]", "1111"},
	{"0", "[ --]", "0000"},
	{"-", "[---]", "1111"},
	{"-", "[------]", "1111"},
	{"j", "[a-e-n]", "0000"},
	{"-", "[a-e-n]", "1111"},
	{"a", "[!------]", "1111"},
	{"[", "[]-a]", "0000"},
	{"^", "[]-a]", "1111"},
	{"^", "[!]-a]", "0000"},
	{"[", "[!]-a]", "1111"},
	{"^", "[a^bc]", "1111"},
	{"-b]", "[a-]b]", "1111"},
	{"\\", "[\\]", "0000"},
	{"\\", "[\\\\]", "1111"},
	{"\\", "[!\\\\]", "0000"},
	{"G", "[A-\\\\]", "1111"},
	{"aaabbb", "b*a", "0000"},
	{"aabcaa", "*ba*", "0000"},
	{",", "[,]", "1111"},
	{",", "[\\\\,]", "1111"},
	{"\\", "[\\\\,]", "1111"},
	{"-", "[,-.]", "1111"},
	{"+", "[,-.]", "0000"},
	{"-.]", "[,-.]", "0000"},
	{"2", "[\\1-\\3]", "1111"},
	{"3", "[\\1-\\3]", "1111"},
	{"4", "[\\1-\\3]", "0000"},
	{"\\", "[[-\\]]", "1111"},
	{"[", "[[-\\]]", "1111"},
	{"]", "[[-\\]]", "1111"},
	{"-", "[[-\\]]", "0000"},
	/* Test recursion */
	{"-adobe-courier-bold-o-normal--12-120-75-75-m-70-iso8859-1", "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "1111"},
	{"-adobe-courier-bold-o-normal--12-120-75-75-X-70-iso8859-1", "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "0000"},
	{"-adobe-courier-bold-o-normal--12-120-75-75-/-70-iso8859-1", "-*-*-*-*-*-*-12-*-*-*-m-*-*-*", "0000"},
	{"XXX/adobe/courier/bold/o/normal//12/120/75/75/m/70/iso8859/1", "XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", "1111"},
	{"XXX/adobe/courier/bold/o/normal//12/120/75/75/X/70/iso8859/1", "XXX/*/*/*/*/*/*/12/*/*/*/m/*/*/*", "0000"},
	{"abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txt", "**/*a*b*g*n*t", "1111"},
	{"abcd/abcdefg/abcdefghijk/abcdefghijklmnop.txtz", "**/*a*b*g*n*t", "0000"},
	{"foo", "*/*/*", "0000"},
	{"foo/bar", "*/*/*", "0000"},
	{"foo/bba/arr", "*/*/*", "1111"},
	{"foo/bb/aa/rr", "*/*/*", "0011"},
	{"foo/bb/aa/rr", "**/**/**", "1111"},
	{"abcXdefXghi", "*X*i", "1111"},
	{"ab/cXd/efXg/hi", "*X*i", "0011"},
	{"ab/cXd/efXg/hi", "*/*X*/*/*i", "1111"},
	{"ab/cXd/efXg/hi", "**/*X*/**/*i", "1111"},
	/* Extra pathmatch tests */
	{"foo", "fo", "0000"},
	{"foo/bar", "foo/bar", "1111"},
	{"foo/bar", "foo/*", "1111"},
	{"foo/bba/arr", "foo/*", "0011"},
	{"foo/bba/arr", "foo/**", "1111"},
	{"foo/bba/arr", "foo*", "0011"},
	{"foo/bba/arr", "foo**", "0011"},
	{"foo/bba/arr", "foo/*arr", "0011"},
	{"foo/bba/arr", "foo/**arr", "0011"},
	{"foo/bba/arr", "foo/*z", "0000"},
	{"foo/bba/arr", "foo/**z", "0000"},
	{"foo/bar", "foo\?bar", "0011"},
	{"foo/bar", "foo[/]bar", "0011"},
	{"foo/bar", "foo[^a-z]bar", "0011"},
	{"ab/cXd/efXg/hi", "*Xg*i", "0011"},
	/* Extra case-sensitivity tests */
	{"a", "[A-Z]", "0101"},
	{"A", "[A-Z]", "1111"},
	{"A", "[a-z]", "0101"},
	{"a", "[a-z]", "1111"},
	{"a", "[[:upper:]]", "0101"},
	{"A", "[[:upper:]]", "1111"},
	{"A", "[[:lower:]]", "0101"},
	{"a", "[[:lower:]]", "1111"},
	{"A", "[B-Za]", "0101"},
	{"a", "[B-Za]", "1111"},
	{"A", "[B-a]", "0101"},
	{"a", "[B-a]", "1111"},
	{"z", "[Z-y]", "0101"},
	{"Z", "[Z-y]", "1111"},
};

static void test_t3070_vectors(void)
{
	static const unsigned modes[4] = {
		IGNORE_WM_PATHNAME,
		IGNORE_WM_PATHNAME | IGNORE_WM_CASEFOLD,
		0,
		IGNORE_WM_CASEFOLD,
	};
	static const char *const names[4] = {"wildmatch", "iwildmatch", "pathmatch", "ipathmatch"};
	size_t n = sizeof(test_t3070) / sizeof(test_t3070[0]), checked = 0;
	for (size_t i = 0; i < n; i++) {
		const struct wm_vector *v = &test_t3070[i];
		for (int m = 0; m < 4; m++) {
			if (v->expect[m] == 'x')
				continue;
			bool want = v->expect[m] == '1';
			bool got = ignore_wildmatch(v->pattern, v->text, modes[m]) == 1;
			checked++;
			if (got != want)
				fprintf(stderr, "\n  %s: text \"%s\" pattern \"%s\": got %d, want %d",
					names[m], v->text, v->pattern, got, want);
			CU_ASSERT_EQUAL(got, want);
		}
	}
	CU_ASSERT(checked >= 4 * 180);
}

/* ---------------------------------------------------------------------------------------- */
/* gitignore cases (expected verdicts checked against git 2.39's check-ignore)             */
/* ---------------------------------------------------------------------------------------- */

#define F false
#define D true

struct gi_check {
	const char *path;
	bool dir, excluded;
};

struct gi_case {
	const char *name;
	/** .git/info/exclude, or NULL. */
	const char *exclude;
	/** {base, text} of each .gitignore, shallowest first. */
	const char *files[4][2];
	/** The `ignore` option patterns. */
	const char *override[4];
	size_t override_count;
	struct gi_check checks[12];
};

static const struct gi_case test_gi_cases[] = {
	{"basename at any depth", NULL, {{"", "*.o\n"}}, {NULL}, 0,
	 {{"a.o", F, true}, {"x/y/a.o", F, true}, {"a.c", F, false}, {"dir.o", D, true},
	  {".o", F, true}, {"o", F, false}}},
	{"literal basename", NULL, {{"", "Makefile\n"}}, {NULL}, 0,
	 {{"Makefile", F, true}, {"a/Makefile", F, true}, {"Makefile.in", F, false},
	  {"aMakefile", F, false}}},
	{"dir-only", NULL, {{"", "build/\n"}}, {NULL}, 0,
	 {{"build", D, true}, {"build", F, false}, {"x/build", D, true}, {"x/build", F, false}}},
	{"leading slash anchors", NULL, {{"", "/top\n/*.c\n"}}, {NULL}, 0,
	 {{"top", F, true}, {"x/top", F, false}, {"a.c", F, true}, {"x/a.c", F, false}}},
	{"middle slash anchors", NULL, {{"", "doc/frotz\n"}, {"a", "doc/frotz\n"}}, {NULL}, 0,
	 {{"doc/frotz", F, true}, {"x/doc/frotz", F, false}, {"a/doc/frotz", D, true},
	  {"a/b/doc/frotz", F, false}}},
	{"anchored glob stops at slash", NULL, {{"", "doc/*.txt\n"}}, {NULL}, 0,
	 {{"doc/a.txt", F, true}, {"doc/x/a.txt", F, false}}},
	{"last match wins in a file", NULL, {{"", "*.log\n!keep.log\n"}, {"r", "!keep.log\n*.log\n"}},
	 {NULL}, 0,
	 {{"a.log", F, true}, {"keep.log", F, false}, {"x/keep.log", F, false},
	  {"r/keep.log", F, true}}},
	{"deeper file re-includes", NULL, {{"", "*.txt\n"}, {"sub", "!important.txt\n"}}, {NULL}, 0,
	 {{"important.txt", F, true}, {"sub/important.txt", F, false},
	  {"sub/x/important.txt", F, false}, {"sub/other.txt", F, true}}},
	{"deeper file excludes", NULL, {{"", "!*.c\n"}, {"sub", "*.c\n"}}, {NULL}, 0,
	 {{"a.c", F, false}, {"sub/a.c", F, true}}},
	{"base is a directory, not a prefix", NULL, {{"a", "*.o\n/x\n"}}, {NULL}, 0,
	 {{"a/b.o", F, true}, {"ab/b.o", F, false}, {"b.o", F, false}, {"a/x", F, true},
	  {"ab/x", F, false}, {"a/y/x", F, false}}},
	{"info/exclude is weakest", "*.swp\nsecret\n", {{"", "!keep.swp\n"}}, {NULL}, 0,
	 {{"a.swp", F, true}, {"keep.swp", F, false}, {"d/secret", F, true}}},
	{"override wins over files", NULL,
	 {{"", "!*.log\n*.tmp\n"}, {"sub", "!x.tmp\n"}}, {"*.log", "!a.tmp"}, 2,
	 {{"a.log", F, true}, {"sub/x.tmp", F, false}, {"a.tmp", F, false}, {"b.tmp", F, true}}},
	{"override excludes over nested negation", NULL, {{"sub", "!*.tmp\n"}}, {"*.tmp"}, 1,
	 {{"sub/x.tmp", F, true}, {"x.tmp", F, true}}},
	{"override lines: comments and trailing spaces", NULL, {{NULL, NULL}}, {"#x", "y  ", "z\\ "},
	 3, {{"#x", F, false}, {"y", F, true}, {"z ", F, true}, {"z", F, false}}},
	{"leading **/", NULL, {{"", "**/foo\n"}}, {NULL}, 0,
	 {{"foo", F, true}, {"a/foo", F, true}, {"a/b/foo", D, true}, {"afoo", F, false}}},
	{"middle /**/", NULL, {{"", "a/**/b\n"}}, {NULL}, 0,
	 {{"a/b", F, true}, {"a/x/b", F, true}, {"a/x/y/b", F, true}, {"x/a/b", F, false},
	  {"a/xb", F, false}}},
	{"trailing /**", NULL, {{"", "abc/**\n"}}, {NULL}, 0,
	 {{"abc", D, false}, {"abc/x", F, true}, {"abc/x/y", F, true}, {"abcd/x", F, false}}},
	{"** glued to a literal prefix", NULL, {{"", "foo**/bar\n"}}, {NULL}, 0,
	 {{"foox/y/bar", F, true}, {"foo/bar", F, true}, {"fooy/bar", F, true},
	  {"x/foox/y/bar", F, false}}},
	{"** inside a component is *", NULL, {{"", "a**b\n"}}, {NULL}, 0,
	 {{"axyb", F, true}, {"d/axyb", F, true}}},
	{"escapes", NULL, {{"", "\\#hash\n\\!bang\nesc\\ \n\\*star\n"}}, {NULL}, 0,
	 {{"#hash", F, true}, {"!bang", F, true}, {"esc ", F, true}, {"esc", F, false},
	  {"*star", F, true}, {"xstar", F, false}}},
	{"comments and trailing spaces", NULL, {{"", "#comment\nsp   \ntab\t\n  lead\n"}}, {NULL}, 0,
	 {{"#comment", F, false}, {"sp", F, true}, {"sp ", F, false}, {"tab\t", F, true},
	  {"tab", F, false}, {"  lead", F, true}}},
	{"CRLF, BOM, no final newline", NULL, {{"", "\xef\xbb\xbf" "a.tmp\r\n#c\r\nb.tmp\r"}}, {NULL},
	 0, {{"a.tmp", F, true}, {"b.tmp", F, true}, {"b.tmp\r", F, false}}},
	{"character classes", NULL,
	 {{"", "[[:digit:]]*.log\nfile[0-9].txt\n[!a]?.c\n[^x]y\n[[:upper:]][[:lower:]]\n"}}, {NULL}, 0,
	 {{"1.log", F, true}, {"a.log", F, false}, {"file7.txt", F, true}, {"fileX.txt", F, false},
	  {"bb.c", F, true}, {"ab.c", F, false}, {"ay", F, true}, {"xy", F, false},
	  {"Ab", F, true}, {"ab", F, false}}},
	{"question mark", NULL, {{"", "?.c\n"}}, {NULL}, 0,
	 {{"a.c", F, true}, {"ab.c", F, false}, {"d/a.c", F, true}}},
	{"non-UTF-8 pattern", NULL, {{"", "\xff*\n"}}, {NULL}, 0,
	 {{"\xff-x", F, true}, {"d/\xff", F, true}, {"x\xff", F, false}}},
	{"case-sensitive", NULL, {{"", "*.log\n"}}, {NULL}, 0,
	 {{"A.LOG", F, false}, {"a.log", F, true}}},
	{"trailing backslash matches nothing", NULL, {{"", "foo\\\n*.x\n"}}, {NULL}, 0,
	 {{"foo", F, false}, {"foo\\", F, false}, {"a.x", F, true}}},
	{"ignore everything but", NULL, {{"d", "*\n!*.keep\n!*/\n"}}, {NULL}, 0,
	 {{"d/a.txt", F, true}, {"d/b.keep", F, false}, {"d/dir", D, false}, {"d/dir/c.keep", F, false},
	  {"d/dir/c.txt", F, true}, {"d/.gitignore", F, true}}},
	{"dir-only negation in a deeper file", NULL, {{"", "build/\n"}, {"sub", "!build/\n"}}, {NULL},
	 0, {{"build", D, true}, {"sub/build", D, false}, {"sub/x/build", D, false}}},
	{"many patterns use the index", NULL,
	 {{"", "*.a\n*.b\n*.c\n*.d\n*.e\n*.f\n*.g\n*.h\nfoo\n/bar/\n!keep.c\n*.[ch]\n!x.h\nbaz?\n"}},
	 {NULL}, 0,
	 {{"q.a", F, true}, {"q.c", F, true}, {"keep.c", F, true}, {"x.h", F, false},
	  {"bar", D, true}, {"bar", F, false}, {"d/bar", D, false}, {"foo", F, true},
	  {"bazz", F, true}, {"q.z", F, false}}},
};

static struct ignore_stack *gi_build(const struct gi_case *c)
{
	struct errbuf err = {0};
	struct ignore_stack *stack = NULL, *next;
	struct ignore_rules *rules;
	if (c->override_count) {
		CU_ASSERT_EQUAL_FATAL(ignore_rules_from_patterns(&rules, c->override,
								 c->override_count, &err), 0);
		next = ignore_stack_push_override(stack, rules);
		CU_ASSERT_PTR_NOT_NULL_FATAL(next);
		stack = next;
	}
	if (c->exclude) {
		CU_ASSERT_EQUAL_FATAL(ignore_rules_parse(&rules, c->exclude, strlen(c->exclude), "", 0,
							 &err), 0);
		next = ignore_stack_push(stack, rules);
		ignore_stack_unref(stack);
		CU_ASSERT_PTR_NOT_NULL_FATAL(next);
		stack = next;
	}
	for (int i = 0; i < 4 && c->files[i][0]; i++) {
		const char *base = c->files[i][0], *text = c->files[i][1];
		CU_ASSERT_EQUAL_FATAL(ignore_rules_parse(&rules, text, strlen(text), base, strlen(base),
							 &err), 0);
		next = ignore_stack_push(stack, rules);
		ignore_stack_unref(stack);
		CU_ASSERT_PTR_NOT_NULL_FATAL(next);
		stack = next;
	}
	return stack;
}

static void test_gitignore_cases(void)
{
	size_t n = sizeof(test_gi_cases) / sizeof(test_gi_cases[0]);
	for (size_t i = 0; i < n; i++) {
		const struct gi_case *c = &test_gi_cases[i];
		struct ignore_stack *stack = gi_build(c);
		for (int j = 0; j < 12 && c->checks[j].path; j++) {
			const struct gi_check *k = &c->checks[j];
			bool got = ignore_stack_excluded(stack, k->path, strlen(k->path), k->dir);
			if (got != k->excluded)
				fprintf(stderr, "\n  case \"%s\": %s%s: got %s, want %s", c->name, k->path,
					k->dir ? "/" : "", got ? "excluded" : "kept",
					k->excluded ? "excluded" : "kept");
			CU_ASSERT_EQUAL(got, k->excluded);
		}
		ignore_stack_unref(stack);
	}
}

/* A NUL byte ends a pattern, as in git, which reads lines as C strings. */
static void test_nul_in_line(void)
{
	static const char text[] = "foo\0bar\n*.x\0\n";
	struct ignore_rules *rules;
	CU_ASSERT_EQUAL_FATAL(ignore_rules_parse(&rules, text, sizeof(text) - 1, "", 0, NULL), 0);
	struct ignore_stack *s = ignore_stack_push(NULL, rules);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(ignore_stack_excluded(s, "foo", 3, false));
	CU_ASSERT_FALSE(ignore_stack_excluded(s, "foobar", 6, false));
	CU_ASSERT_TRUE(ignore_stack_excluded(s, "a.x", 3, false));
	ignore_stack_unref(s);
}

/* Empty and comment-only files are valid; the counts and NULL handling. */
static void test_empty_and_counts(void)
{
	struct ignore_rules *rules;
	CU_ASSERT_EQUAL_FATAL(ignore_rules_parse(&rules, "", 0, "", 0, NULL), 0);
	CU_ASSERT_EQUAL(ignore_rules_count(rules), 0);
	struct ignore_stack *s = ignore_stack_push(NULL, rules);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_FALSE(ignore_stack_excluded(s, "a", 1, false));

	static const char text[] = "# c\n\n   \n*.o\n!x.o\nbuild/\n";
	CU_ASSERT_EQUAL_FATAL(ignore_rules_parse(&rules, text, sizeof(text) - 1, "d/", 2, NULL), 0);
	CU_ASSERT_EQUAL(ignore_rules_count(rules), 4); /* "   " trims to an empty pattern */
	struct ignore_stack *t = ignore_stack_push(s, rules);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_TRUE(ignore_stack_excluded(t, "d/a.o", 5, false));
	CU_ASSERT_FALSE(ignore_stack_excluded(t, "d/x.o", 5, false));
	CU_ASSERT_FALSE(ignore_stack_excluded(t, "a.o", 3, false));
	CU_ASSERT_FALSE(ignore_stack_excluded(NULL, "a.o", 3, false));
	CU_ASSERT_PTR_NULL(ignore_stack_ref(NULL));
	ignore_stack_unref(NULL);
	ignore_rules_destroy(NULL);
	CU_ASSERT_EQUAL(ignore_rules_count(NULL), 0);
	ignore_stack_unref(s);
	ignore_stack_unref(t);
}

/*
 * Worker threads share stacks: each thread pushes its own child on a shared parent, queries,
 * and drops it, while the parent's references come and go. Meant to run under TSan.
 */
struct stack_thread {
	struct ignore_stack *root;
	int failures;
};

static void *stack_thread_main(void *arg)
{
	struct stack_thread *t = arg;
	for (int i = 0; i < 2000; i++) {
		struct ignore_rules *rules;
		if (ignore_rules_parse(&rules, "!keep.o\n", 8, "sub", 3, NULL) < 0) {
			t->failures++;
			continue;
		}
		struct ignore_stack *child = ignore_stack_push(t->root, rules);
		if (!child) {
			t->failures++;
			continue;
		}
		struct ignore_stack *extra = ignore_stack_ref(t->root);
		if (!ignore_stack_excluded(child, "sub/a.o", 7, false) ||
		    ignore_stack_excluded(child, "sub/keep.o", 10, false) ||
		    !ignore_stack_excluded(t->root, "sub/keep.o", 10, false))
			t->failures++;
		ignore_stack_unref(extra);
		ignore_stack_unref(child);
	}
	return NULL;
}

static void test_threads_share_stacks(void)
{
	struct ignore_rules *rules;
	CU_ASSERT_EQUAL_FATAL(ignore_rules_parse(&rules, "*.o\n", 4, "", 0, NULL), 0);
	struct ignore_stack *root = ignore_stack_push(NULL, rules);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	pthread_t tid[4];
	struct stack_thread st[4];
	for (int i = 0; i < 4; i++) {
		st[i] = (struct stack_thread){.root = root};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, stack_thread_main, &st[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		CU_ASSERT_EQUAL(st[i].failures, 0);
	}
	ignore_stack_unref(root);
}

/* ---------------------------------------------------------------------------------------- */
/* The optimized matcher against a plain reference                                          */
/* ---------------------------------------------------------------------------------------- */

/*
 * The reference applies git's dir.c rules literally to each line with ignore_wildmatch() and
 * none of the matcher's shortcuts (literal and suffix compares, last-byte and tail filters, the
 * index), so any disagreement is a shortcut that is wrong. Verdict: -1 no match, else 0/1 for
 * exclude/include.
 */
static int ref_line(const char *line, const char *base, const char *path, bool is_dir)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", line);
	char *p = buf;
	if (!*p || *p == '#')
		return -1;
	/* trim_trailing_spaces */
	char *last_space = NULL;
	for (char *c = p; *c; c++) {
		if (*c == ' ') {
			if (!last_space)
				last_space = c;
		} else if (*c == '\\' && !*++c) {
			last_space = NULL;
			break;
		} else {
			last_space = NULL;
		}
	}
	if (last_space)
		*last_space = '\0';
	bool neg = false, dironly = false;
	if (*p == '!') {
		neg = true;
		p++;
	}
	size_t n = strlen(p);
	if (n && p[n - 1] == '/') {
		dironly = true;
		p[--n] = '\0';
	}
	if (dironly && !is_dir)
		return -1;
	size_t bl = strlen(base);
	if (bl && (strncmp(path, base, bl) != 0 || path[bl] != '/'))
		return -1;
	const char *rel = bl ? path + bl + 1 : path;
	bool matched;
	if (!strchr(p, '/')) {
		const char *slash = strrchr(path, '/');
		const char *name = slash ? slash + 1 : path;
		matched = n > 0 && ignore_wildmatch(p, name, 0) == 1;
	} else {
		if (*p == '/')
			p++;
		size_t prefix = strcspn(p, "*?[\\");
		if (strncmp(p, rel, prefix) != 0)
			matched = false;
		else if (!p[prefix] && !rel[prefix])
			matched = true;
		else
			matched = ignore_wildmatch(p + prefix, rel + prefix, IGNORE_WM_PATHNAME) == 1;
		if (!*p)
			matched = false;
	}
	return matched ? (neg ? 1 : 0) : -1;
}

static uint64_t diff_rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define DIFF_PICK(rng, arr) (arr)[diff_rng(rng) % (sizeof(arr) / sizeof((arr)[0]))]

static void test_matcher_vs_reference(void)
{
	static const char *const tokens[] = {
		"a", "b", "ab", "o", ".", ".", ".o", ".c", "c", "x", "A", "*", "*", "**", "?", "[ab]",
		"[!a]", "[^.]", "[a-c]", "[[:lower:]]", "[[:punct:]]", "\\*", "\\.", "\\a", "/", "/",
		" ", "\\ ", "#", "[]]", "[", "\\",
	};
	static const char *const comps[] = {"a", "b", "ab", "a.o", "b.c", "o", ".c", "a.b.c", "x.o.c",
					    "A", "c", "*", "a b", "ab.", ".", "ba", "a.c.o"};
	static const char *const bases[] = {"", "", "a", "ab", "a/b"};
	uint64_t rng = 0x2545f4914f6cdd1dull;
	size_t checked = 0, mismatches = 0, matched = 0;
	for (int round = 0; round < 400; round++) {
		/* One set of 1..24 random lines: sets over 8 patterns use the index. */
		char lines[24][64];
		int nl = 1 + (int)(diff_rng(&rng) % 24);
		char text[24 * 65 + 1];
		size_t tl = 0;
		for (int i = 0; i < nl; i++) {
			size_t l = 0;
			if (diff_rng(&rng) % 4 == 0)
				lines[i][l++] = '!';
			if (diff_rng(&rng) % 5 == 0)
				lines[i][l++] = '/';
			int nt = 1 + (int)(diff_rng(&rng) % 5);
			for (int t = 0; t < nt; t++)
				l += (size_t)snprintf(lines[i] + l, sizeof(lines[i]) - l, "%s",
						      DIFF_PICK(&rng, tokens));
			if (diff_rng(&rng) % 4 == 0 && l < sizeof(lines[i]) - 1)
				lines[i][l++] = '/';
			lines[i][l] = '\0';
			tl += (size_t)snprintf(text + tl, sizeof(text) - tl, "%s\n", lines[i]);
		}
		const char *base = DIFF_PICK(&rng, bases);
		struct ignore_rules *rules;
		CU_ASSERT_EQUAL_FATAL(ignore_rules_parse(&rules, text, tl, base, strlen(base), NULL), 0);
		struct ignore_stack *st = ignore_stack_push(NULL, rules);
		CU_ASSERT_PTR_NOT_NULL_FATAL(st);
		for (int q = 0; q < 300; q++) {
			char path[256];
			size_t pl = (size_t)snprintf(path, sizeof(path), "%s", base);
			int depth = 1 + (int)(diff_rng(&rng) % 4);
			for (int d = 0; d < depth; d++)
				pl += (size_t)snprintf(path + pl, sizeof(path) - pl, "%s%s",
						       pl ? "/" : "", DIFF_PICK(&rng, comps));
			bool is_dir = diff_rng(&rng) % 3 == 0;
			int want = -1;
			for (int i = nl - 1; i >= 0 && want < 0; i--)
				want = ref_line(lines[i], base, path, is_dir);
			bool got = ignore_stack_excluded(st, path, pl, is_dir);
			checked++;
			matched += want == 0;
			if (got != (want == 0) && mismatches++ < 10)
				fprintf(stderr, "\n  path \"%s\"%s, rules based at \"%s\":\n%s  got %d, want %d",
					path, is_dir ? " (dir)" : "", base, text, got, want == 0);
		}
		ignore_stack_unref(st);
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT(matched > checked / 20); /* the random rules do exclude things */
}

/* Patterns that take exponential time to backtrack over finish at once. */
static void test_pathological_pattern(void)
{
	char text[201];
	memset(text, 'a', 200);
	text[200] = '\0';
	CU_ASSERT_FALSE(ignore_wildmatch("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", text, 0));
	CU_ASSERT_FALSE(ignore_wildmatch("**/*a*a*a*a*a*a*a*a*a*a*a*a*a*b", text, IGNORE_WM_PATHNAME));
	CU_ASSERT_TRUE(ignore_wildmatch("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", text, 0));
	/* Issue 9: "**" components, which git's aborts do not prune, on a 40-level path. */
	char deep[40 * 5 + 3] = "";
	for (int i = 0; i < 40; i++)
		strcat(deep, "deep/");
	strcat(deep, "ax");
	CU_ASSERT_EQUAL(ignore_wildmatch("**/**/**/**/**/**/**/**/**/**/[b]x", deep, IGNORE_WM_PATHNAME),
			0);
	deep[40 * 5] = 'b';
	CU_ASSERT_EQUAL(ignore_wildmatch("**/**/**/**/**/**/**/**/**/**/[b]x", deep, IGNORE_WM_PATHNAME),
			1);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"t3070 wildmatch vectors", test_t3070_vectors},
		{"gitignore cases", test_gitignore_cases},
		{"NUL ends a pattern", test_nul_in_line},
		{"empty files and counts", test_empty_and_counts},
		{"threads share stacks", test_threads_share_stacks},
		{"pathological pattern", test_pathological_pattern},
		{"matcher vs plain reference", test_matcher_vs_reference},
		{NULL, NULL},
	};
	return unit_run("ignore", tests);
}
