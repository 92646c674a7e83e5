/* ignore_impl.h: the rule sets and stacks of ignore.h, shared by ignore.c (parsing and
 * indexing) and ignore_match.c (matching and stacks). See the DESIGN in ignore.c. */
#ifndef LEINDEX_IGNORE_IMPL_H
#define LEINDEX_IGNORE_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service/scan/ignore.h"

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
	IGNORE_PAT_ROOTED = 1u << 2,   /**< "/pattern": the '/' was dropped from the bytes */
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
	uint32_t line;        /**< 1-based line in its file, or position among the option patterns */
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
	/** Where the set comes from (ignore_rules_set_source()): kind and label (malloc'ed). */
	enum ignore_source source;
	char *label;
	/** Rules above the root: the root's path from their directory (malloc'ed), or NULL. */
	char *lead;
	size_t lead_len;
	/** Set once a skip was decided by this set (ignore_rules_mark_used()). */
	atomic_bool used;
};

struct ignore_stack {
	atomic_size_t refs;
	struct ignore_stack *parent;
	struct ignore_rules *rules;
	bool override;     /**< pushed with ignore_stack_push_override() */
	bool any_override; /**< this node or an ancestor is an override */
};

static inline void ignore_bit_set(uint8_t set[32], unsigned char c)
{
	set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static inline bool ignore_bit_test(const uint8_t set[32], unsigned char c)
{
	return (set[c >> 3] >> (c & 7)) & 1u;
}

#endif
