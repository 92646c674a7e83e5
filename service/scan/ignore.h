/* ignore.h: gitignore rules, matched the way git matches them. */
#ifndef LEINDEX_IGNORE_H
#define LEINDEX_IGNORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errbuf.h"

/*
 * A scan keeps, for each directory it opens, an immutable stack of rule sets: the root's
 * `ignore` option patterns, the root repository's .git/info/exclude, and the .gitignore of every
 * directory from the root down to this one. Stacks share their parents (reference counted,
 * atomically), so a directory's stack costs one node when it has a .gitignore and nothing when
 * it has none, and worker threads read stacks without locks.
 *
 * Precedence is git's: within one rule set the last matching pattern wins; a deeper .gitignore
 * wins over a shallower one, which wins over .git/info/exclude; the `ignore` option patterns
 * (like git's command-line --exclude) win over all files. A path whose parent directory is
 * excluded is never asked about, because the scanner never opens an ignored directory: that is
 * git's rule that a file cannot be re-included once its parent is excluded.
 */

/** One parsed rule set (one .gitignore, info/exclude, or the option patterns). */
struct ignore_rules;

/** A stack of rule sets from the scan root down to one directory. */
struct ignore_stack;

/** Where a rule set comes from, for the skip records (GET /scans/{id}/skipped). */
enum ignore_source {
	IGNORE_SRC_FILE = 0, /**< a .gitignore file (the default of the parsers) */
	IGNORE_SRC_EXCLUDE,  /**< a repository's info/exclude */
	IGNORE_SRC_OPTION,   /**< the `ignore` option patterns */
};

/**
 * The pattern that decided a path (ignore_stack_why()): the rule set and the pattern's index in
 * it. Valid as long as the stack that answered.
 */
struct ignore_why {
	const struct ignore_rules *rules;
	uint32_t pat;
};

/** What the rules say of a path. */
enum ignore_verdict {
	IGNORE_NONE = 0, /**< no pattern matched */
	IGNORE_EXCLUDE,  /**< the last matching pattern excludes it */
	IGNORE_INCLUDE,  /**< the last matching pattern is a negation (!pattern) */
};

/**
 * Parses gitignore text (bytes; lines end in LF or CRLF; comments, blank lines, trailing-space
 * and escape rules as in gitignore(5)). `base` is the directory the file sits in, relative to the
 * scan root, without trailing slash ("" for the root). Both are copied. An empty rule set is
 * returned as a valid object. Gitignore text has no syntax errors (a malformed pattern matches
 * nothing, as in git); the call fails only when out of memory or past 4 GiB of patterns, and
 * then `err` says on which line: "line 12: growing the pattern list: Cannot allocate memory".
 */
int ignore_rules_parse(struct ignore_rules **out, const char *text, size_t len, const char *base,
		       size_t base_len, struct errbuf *err);

/**
 * Parses an array of patterns (the `ignore` option), each as one gitignore line at the root.
 * Fails as ignore_rules_parse() does, naming the pattern ("pattern 3: ...").
 */
int ignore_rules_from_patterns(struct ignore_rules **out, const char *const *patterns,
			       size_t count, struct errbuf *err);

/**
 * Names where `rules` come from: `kind`, and `label` (copied), the text a skip record shows as its
 * source: the file's path relative to the scan root ("src/.gitignore", "../.gitignore"),
 * "info/exclude" or "option". 0 or -ENOMEM. Call before the rules go to a stack.
 */
int ignore_rules_set_source(struct ignore_rules *rules, enum ignore_source kind, const char *label);

/**
 * For rules read above the scan root (the view git with a root below the top of its work tree):
 * `lead` (copied) is the root's path relative to the directory of the rules' file, so that the
 * rules see paths as git does, from their own directory. Their base must be "". 0 or -ENOMEM.
 */
int ignore_rules_set_lead(struct ignore_rules *rules, const char *lead, size_t lead_len);

/** The source label of ignore_rules_set_source() ("" when none was set), and its kind. */
const char *ignore_rules_source(const struct ignore_rules *rules, enum ignore_source *kind);

/**
 * Marks `rules` as having decided a skip; true the first time (thread-safe): counts the distinct
 * ignore files that skipped something.
 */
bool ignore_rules_mark_used(const struct ignore_rules *rules);

/** The 1-based line (the pattern's position for option patterns) of the deciding pattern. */
uint32_t ignore_why_line(const struct ignore_why *why);

/**
 * Writes the deciding pattern as git check-ignore -v shows it ("!" of a negation, the pattern
 * with its leading '/', a trailing '/' of a directory pattern) into buf[cap] (NUL-terminated,
 * cut to fit); returns its full length.
 */
size_t ignore_why_pattern(const struct ignore_why *why, char *buf, size_t cap);

/** Frees rules not handed to a stack. NULL is fine. */
void ignore_rules_destroy(struct ignore_rules *rules);

/** Number of pattern lines read into a rule set (comments and blank lines aside). */
size_t ignore_rules_count(const struct ignore_rules *rules);

/**
 * Returns a new stack: `parent` (may be NULL) with `rules` on top, as a deeper, higher-precedence
 * set. Takes ownership of `rules` and a reference on `parent`. `rules` with higher precedence
 * than all files (the option patterns) are pushed with ignore_stack_push_override(). NULL on
 * allocation failure (rules are then freed).
 */
struct ignore_stack *ignore_stack_push(struct ignore_stack *parent, struct ignore_rules *rules);

/** Like ignore_stack_push() but `rules` win over every rule set pushed later, too. */
struct ignore_stack *ignore_stack_push_override(struct ignore_stack *parent,
						struct ignore_rules *rules);

/** Takes another reference (thread-safe). NULL is fine and returns NULL. */
struct ignore_stack *ignore_stack_ref(struct ignore_stack *stack);

/** Drops a reference (thread-safe); the last one frees. NULL is fine. */
void ignore_stack_unref(struct ignore_stack *stack);

/**
 * Whether `path` (relative to the scan root, no leading or trailing slash, bytes) is excluded by
 * the stack; `is_dir` says whether it is a directory (for dir-only patterns). NULL stack: false.
 * Thread-safe, allocation-free.
 */
bool ignore_stack_excluded(const struct ignore_stack *stack, const char *path, size_t len,
			   bool is_dir);

/**
 * ignore_stack_excluded() that also says which pattern decided: when a pattern matched (the path
 * is excluded, or re-included by a negation), fills *why and returns the verdict; IGNORE_NONE
 * (why untouched) when none did. Like git check-ignore -v, the last matching pattern decides.
 */
enum ignore_verdict ignore_stack_why(const struct ignore_stack *stack, const char *path,
				     size_t len, bool is_dir, struct ignore_why *why);

/*
 * git's wildmatch(), as patterns compiled once and matched in time bounded by the product of
 * pattern and text length whatever the pattern (wildmatch.c says how). `flags`:
 * IGNORE_WM_PATHNAME makes '*' and '?' stop at '/' and lets "**" span directories;
 * IGNORE_WM_CASEFOLD folds ASCII case.
 */
#define IGNORE_WM_CASEFOLD 1
#define IGNORE_WM_PATHNAME 2

/** A compiled wildmatch pattern. Immutable: any number of threads may match with one. */
struct ignore_wm;

/**
 * Compiles `pattern` (`len` bytes, not NUL-terminated) for `flags`. The pattern is not kept
 * referenced; *out is the caller's, for ignore_wm_destroy(). A pattern that can match nothing
 * (a malformed bracket expression, a trailing '\') compiles to a program that matches nothing.
 * Fails with -ENOMEM, or -E2BIG for a pattern of more than 65,535 characters and wildcards.
 */
int ignore_wm_compile(struct ignore_wm **out, const char *pattern, size_t len, unsigned flags,
		      struct errbuf *err);

/** Whether `text` (`len` bytes) matches. Allocation-free and thread-safe. */
bool ignore_wm_match(const struct ignore_wm *wm, const char *text, size_t len);

/**
 * ignore_wm_match() that also adds the steps it took to *steps: for patterns of at most 63
 * tokens, one per text byte read, plus one; for longer ones, per text byte read and once more,
 * one per 64-bit word of states plus the pattern bytes of each one-byte token tested. So never
 * more than 2 * (pattern length + 1) * (text length + 1); for tests of that bound.
 */
bool ignore_wm_match_counted(const struct ignore_wm *wm, const char *text, size_t len,
			     uint64_t *steps);

/** Frees a program. NULL is fine. */
void ignore_wm_destroy(struct ignore_wm *wm);

/**
 * Compiles, matches once and frees: 1 when `text` matches `pattern` (both NUL-terminated), 0 when
 * not, a negative errno when compiling fails. For the unit tests of git's t3070 vectors.
 */
int ignore_wildmatch(const char *pattern, const char *text, unsigned flags);

#endif
