/* scanopt.h: one declarative table of scan options, read from JSON or the command line. */
#ifndef LEINDEX_SCANOPT_H
#define LEINDEX_SCANOPT_H

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/errbuf.h"
#include "service/scan/scanner.h"
#include "store/store.h"

/*
 * Each row of a table says how one option is spelled in JSON and on the command line, its
 * type, range, default and help, and where it lands in the options struct. The table of scan
 * options (scanopt_scan_table(), landing in struct scanner_opts) drives:
 *   - POST /scans: scanopt_read(SCANOPT_FROM_JSON) checks the body and fills the options;
 *   - `leindexd scan`: scanopt_cli_longopts() gives the getopt flags, scanopt_cli_arg() reads
 *     each one into a JSON object, scanopt_read(SCANOPT_FROM_CLI) fills the options, and
 *     scanopt_cli_usage() writes their part of --help;
 *   - the options a scan's record shows: scanopt_echo();
 *   - the contract test, which compares scanopt_describe() with openapi.yaml's ScanRequest.
 * Adding an option is adding a row (and its property in openapi.yaml, which the test checks).
 *
 * Calling sequence: zero the target, scanopt_read() once, use the target, scanopt_release().
 * Tables are immutable; every function is thread-safe on distinct targets.
 */

/* ---------------------------------------------------------------- limits, defined once */

/** Worker threads of a scan: 1..SCANOPT_WORKERS_MAX (the engine's own limit). */
#define SCANOPT_WORKERS_MAX SCANNER_WORKERS_MAX
/** I/O threads of a scan (io_depth): 0..SCANOPT_IO_DEPTH_MAX, SCANOPT_IO_DEPTH_DEFAULT if absent. */
#define SCANOPT_IO_DEPTH_MAX SCANNER_IO_DEPTH_MAX
#define SCANOPT_IO_DEPTH_DEFAULT SCANNER_IO_DEPTH_DEFAULT
/** slow_threshold_ms: its default, and its maximum (one day) for the API and the CLI alike. */
#define SCANOPT_SLOW_MS_DEFAULT SCANNER_SLOW_MS_DEFAULT
#define SCANOPT_SLOW_MS_MAX 86400000
/** ignore: at most this many patterns of at most this many bytes each. */
#define SCANOPT_IGNORE_MAX 1024
#define SCANOPT_IGNORE_LEN_MAX 4096

/** What scanopt_read() answers beyond 0 and -ENOMEM. */
enum scanopt_status {
	/** A field is unknown, missing, or of the wrong type or range: the client's 400. */
	SCANOPT_EINVALID = -EINVAL,
	/** Fields valid on their own contradict each other (both are named): a 422. */
	SCANOPT_ECONFLICT = -EDOM,
};

/* ---------------------------------------------------------------- the rows */

/** The JSON value an option takes. */
enum scanopt_type {
	SCANOPT_BOOL,    /**< true or false */
	SCANOPT_INT,     /**< an integer in [min, max], or, when it has keywords, one of them */
	SCANOPT_ENUM,    /**< one of its keywords (a string) */
	SCANOPT_STRINGS, /**< an array of at most `max` strings of at most `max_len` bytes */
	SCANOPT_PATH,    /**< an absolute path: a string starting with '/', under PATH_MAX bytes */
};

/** Flags of a row. */
enum scanopt_flags {
	SCANOPT_REQUIRED = 1u << 0,   /**< must be given (no default) */
	SCANOPT_NULLABLE = 1u << 1,   /**< null is accepted, lands as `null_value`, and is the default */
	SCANOPT_NOT_ECHOED = 1u << 2, /**< left out of scanopt_echo() (the root: records hold it) */
};

/** A keyword of an ENUM, or an INT's non-numeric value ("latest"), and the number it lands as. */
struct scanopt_keyword {
	const char *name;
	long long value;
};

/** How a member of the target struct receives an option. */
enum scanopt_slot_kind {
	SCANOPT_SLOT_NONE = 0, /**< none: an alias lands through the option it aliases */
	SCANOPT_SLOT_UINT,     /**< an unsigned */
	SCANOPT_SLOT_INT,      /**< an int */
	SCANOPT_SLOT_I64,      /**< an int64_t */
	SCANOPT_SLOT_BIT,      /**< `bit` of an unsigned (flags) */
	SCANOPT_SLOT_STR,      /**< a const char * (borrowed from the JSON read) */
	SCANOPT_SLOT_STRV,     /**< a const char *const * (allocated) and a size_t count */
};

/** Where a row lands: built with SCANOPT_AT(), SCANOPT_BIT() or SCANOPT_LIST(). */
struct scanopt_slot {
	enum scanopt_slot_kind kind;
	size_t offset;       /**< of the member in the target struct */
	size_t count_offset; /**< STRV: of the size_t count */
	unsigned bit;        /**< BIT: the flag */
};

/** Member `m` of struct type T; its C type (unsigned, int, int64_t, const char *) picks the kind. */
#define SCANOPT_AT(T, m)                                                                       \
	{.kind = _Generic(((T *)0)->m, unsigned: SCANOPT_SLOT_UINT, int: SCANOPT_SLOT_INT,       \
			  int64_t: SCANOPT_SLOT_I64, const char *: SCANOPT_SLOT_STR),              \
	 .offset = offsetof(T, m)}
/** Flag `b` of the unsigned member `m` of T. */
#define SCANOPT_BIT(T, m, b)                                                                   \
	{.kind = _Generic(((T *)0)->m, unsigned: SCANOPT_SLOT_BIT), .offset = offsetof(T, m),    \
	 .bit = (b)}
/** The string array `m` of T, with its count `n`. */
#define SCANOPT_LIST(T, m, n)                                                                  \
	{.kind = _Generic(((T *)0)->m, const char *const *: SCANOPT_SLOT_STRV),                  \
	 .offset = offsetof(T, m), .count_offset = offsetof(T, n)}

/** How the command line spells an option. */
enum scanopt_cli_kind {
	SCANOPT_CLI_NONE = 0, /**< no flag (the root is `leindexd scan`'s DIR argument) */
	SCANOPT_CLI_VALUE,    /**< --flag VALUE: a number or a keyword */
	SCANOPT_CLI_TRUE,     /**< --flag: a boolean set to true */
	SCANOPT_CLI_FALSE,    /**< --flag: a boolean set to false (--no-gitignore) */
	SCANOPT_CLI_APPEND,   /**< --flag VALUE, repeatable: one more string of a list */
};

/** A row's command-line flag. */
struct scanopt_cli {
	const char *flag; /**< without the dashes: "workers" */
	enum scanopt_cli_kind kind;
	const char *arg;  /**< the value's placeholder in --help: "N", "PATTERN" */
	/** The --help line; range, default and "repeatable" are appended from the row. */
	const char *help;
};

/**
 * A boolean alias of an ENUM option `of`: false means `of` is `off`; true means `of` is not
 * `off`, and sets it to `on` when `of` is not given. Both given and disagreeing: a 422 naming
 * both. The alias is echoed from `of`.
 */
struct scanopt_alias {
	const char *of;
	long long off, on;
};

/** One option. Rows are immutable and usually static. */
struct scanopt_def {
	const char *name; /**< JSON member */
	enum scanopt_type type;
	unsigned flags; /**< enum scanopt_flags */
	/** INT: the range; STRINGS: `max` items at most (min unused). */
	long long min, max;
	/** STRINGS: bytes per item at most. */
	size_t max_len;
	/** The default (BOOL 0/1, INT or ENUM the value) unless REQUIRED, NULLABLE or auto_default. */
	long long def;
	/** A default found at run time (workers: the CPUs), clamped to [min, max]; NULL: `def`. */
	long long (*auto_default)(void);
	/** auto_default in words, for --help and the description: "the CPUs this process may use". */
	const char *auto_default_help;
	/** NULLABLE: what null lands as (max_depth: -1). */
	long long null_value;
	/** ENUM: its values; INT: its non-numeric values. NULL-name terminated; NULL: none. */
	const struct scanopt_keyword *keywords;
	/** STRINGS: the items in words, plural ("gitignore patterns"). */
	const char *items;
	/** What the option does, one sentence (the table's description; "required" messages). */
	const char *help;
	struct scanopt_cli cli;
	struct scanopt_slot slot;
	/** alias.of set: this BOOL row is an alias (its slot is NONE). */
	struct scanopt_alias alias;
};

/**
 * A rule across two fields, checked after each is valid and has landed, when at least one of
 * them was given: `holds` false is a 422 naming both, with `why`.
 */
struct scanopt_rule {
	const char *a, *b;                 /**< JSON names of the two fields */
	bool (*holds)(const void *target); /**< reads the landed target */
	const char *why;                   /**< the rule in words */
};

/** A table: rows in the order of --help, of the echo and of "the fields are" messages. */
struct scanopt_table {
	const struct scanopt_def *defs;
	size_t count;
	const struct scanopt_rule *rules;
	size_t rule_count;
};

/** The scan options: lands in struct scanner_opts. Static, never NULL. */
const struct scanopt_table *scanopt_scan_table(void);

/* ---------------------------------------------------------------- reading and echoing */

/** Where scanopt_read()'s object comes from: it decides what is read and how fields are named. */
enum scanopt_source {
	/** A POST /scans body: every row; unknown members are refused; "field 'workers'". */
	SCANOPT_FROM_JSON,
	/** What scanopt_cli_arg() gathered: rows with a flag only; "--workers". */
	SCANOPT_FROM_CLI,
};

/**
 * Checks `obj` (a JSON object) against table `t` and lands every row it reads into `target`
 * (a struct of the table's type; members of other rows are untouched): the given value, else
 * the default. Returns 0; SCANOPT_EINVALID or SCANOPT_ECONFLICT with a message in `err` that
 * names the field(s), and for a range the minimum, maximum and value; or -ENOMEM. Strings in
 * the target are borrowed from `obj`, which must outlive the target; string arrays are
 * allocated: scanopt_release() frees them (on failure nothing stays allocated).
 */
int scanopt_read(const struct scanopt_table *t, json_t *obj, enum scanopt_source src,
		 void *target, struct errbuf *err);

/** Frees the arrays scanopt_read() allocated in `target` and empties them. Idempotent. */
void scanopt_release(const struct scanopt_table *t, void *target);

/**
 * The options as JSON, one member per row except NOT_ECHOED ones, with the values in
 * `target` (null for a NULLABLE row holding null_value, a keyword's name for its value). A
 * new reference, or NULL when out of memory or when a string is not valid UTF-8.
 */
json_t *scanopt_echo(const struct scanopt_table *t, const void *target);

/**
 * The table as JSON, for the contract test: {"options": [{name, type, required, nullable,
 * minimum, maximum, default, keywords, max_items, max_length, alias_of, echoed, flag, help}],
 * "rules": [{a, b, why}]}, keys present where they apply. A new reference, or NULL (no memory).
 */
json_t *scanopt_describe(const struct scanopt_table *t);

/** "an integer", "a string", "null"...: the JSON type of `v`, for messages. Static text. */
const char *scanopt_json_what(const json_t *v);

/* ---------------------------------------------------------------- the command line */

/**
 * Writes the getopt_long() entries of the rows that have a flag into out[0..cap), row i's
 * `val` being val_base + i, and returns their number (written only up to cap: call with cap 0
 * to count). No terminator is written.
 */
size_t scanopt_cli_longopts(const struct scanopt_table *t, struct option *out, size_t cap,
			    int val_base);

/**
 * Reads one occurrence of row `row`'s flag with its argument `arg` (NULL for TRUE and FALSE
 * flags) into `given`, the JSON object later passed to scanopt_read(SCANOPT_FROM_CLI); a later
 * flag replaces an earlier one, APPEND adds to the list. Returns 0, SCANOPT_EINVALID with a
 * message naming the flag and the value, or -ENOMEM.
 */
int scanopt_cli_arg(const struct scanopt_table *t, size_t row, const char *arg, json_t *given,
		    struct errbuf *err);

/** Writes the --help lines of the rows that have a flag, in table order. */
void scanopt_cli_usage(const struct scanopt_table *t, FILE *out);

/**
 * Resolves and checks o->baseline against store `s` when one is given: "latest" becomes the id
 * of the newest completed scan of o->root; the baseline must exist (not tombstoned), be
 * completed and be of the same root. Sets o->baseline_started_ns and o->baseline_mismatch
 * (its options list differently: nothing will be reused). Returns 0 (also with no baseline);
 * SCANOPT_ECONFLICT (a 422) with the reason in `err`; or another negative error of the store.
 * Thread-safe.
 */
int scanopt_baseline_resolve(struct store *s, struct scanner_opts *o, struct errbuf *err);

#endif
