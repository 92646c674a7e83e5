/* gitview.h: a git repository as the view git reads it: where it is, its index, its excludes. */
#ifndef LEINDEX_GITVIEW_H
#define LEINDEX_GITVIEW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errbuf.h"
#include "service/scan/ignore.h"
#include "service/scan/gitconfig.h"

/*
 * Calling sequence: gitview_open_main() once per scan for the repository the root is in (the API
 * and the CLI call gitview_check() first, to refuse a root that is no work tree with a 422), or
 * gitview_open_nested() for a submodule or nested repository (recurse_repos); then, from any
 * number of threads, gitview_find() and gitview_range() on the immutable result; references
 * with gitview_ref()/gitview_unref() (thread-safe).
 *
 * Every file read here (the gitfile, its target, the common directory's commondir and
 * info/exclude, the index, the .gitignore files above the root) is opened only once its real
 * path is found inside the allowed root (when roots are restricted), and checked again through
 * the descriptor opened, so a planted `gitdir:` or a link swapped in between cannot lead
 * outside. The index is parsed by libgit2 (versions 2 to 4 and the usual extensions), from a
 * private copy read through that descriptor; the repository's configuration is not read (git's
 * defaults: core.fileMode and core.trustctime true, no core.excludesFile).
 */

/** Flags of an index entry. */
enum gitview_ent_flags {
	GITVIEW_SKIP_WORKTREE = 1u << 0, /**< outside the sparse checkout: neither listed nor deleted */
	GITVIEW_INTENT_TO_ADD = 1u << 1, /**< git add -N: shown by git diff, so modified */
	GITVIEW_UNMERGED = 1u << 2,      /**< a conflict (stage 1-3): modified */
	GITVIEW_GITLINK = 1u << 3,       /**< a submodule (mode 160000) */
};

/** One path of the index, with the stat data git compares. */
struct gitview_ent {
	const char *path; /**< relative to the repository's top, in the repo's arena */
	uint32_t len, mode, flags;
	uint32_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec, ino, uid, gid, size;
	unsigned char oid[20];
};

/** One repository. Immutable once opened, except its reference count. */
struct gitview_repo {
	atomic_uint refs;
	/** Index entries in index order (bytewise by path), one per path (stages merged). */
	struct gitview_ent *ents;
	size_t n;
	char *arena;
	/** The index file's mtime: entries modified at or after it are racily clean (git's rule). */
	int64_t index_sec;
	uint32_t index_nsec;
	/** The common directory's info/exclude (base: the repository's top), or NULL. Owned. */
	struct ignore_rules *exclude;
	/** Main repository, root below its top: the root's path from the top ("src/lib"). */
	char *lead;
	size_t lead_len;
	/** Nested repository: bytes of a scan-relative path to drop ("sub/": its top's path + 1). */
	size_t sub_off;
	/** A directory from the top down to the root (included) is ignored: no untracked path. */
	bool root_excluded;
	/** Canonical paths of the top of the work tree and of the git directory, for messages. */
	char *top, *gitdir;
	/** The settings of the repository's config file that change what is reported. */
	struct gitconfig config;
};

/** The .gitignore files between the top of the work tree and the root, top first. */
struct gitview_above {
	struct ignore_rules **rules; /**< each with its lead (ignore_rules_set_lead()); owned */
	size_t n;
};

/**
 * Finds the repository whose work tree holds `root` (canonical, absolute; the top or any
 * directory below it), within `allowed_root` (canonical; NULL: no restriction), and reads it.
 * Fills *above with the .gitignore files above the root (the caller owns them; free with
 * gitview_above_free()). Fails with -ENOTDIR when the root is inside no work tree, -EPERM when a
 * file to read lies outside the allowed root (naming it), -ENOTSUP for an index libgit2 cannot
 * read (a split or sparse index: naming the extension and what to run), or another error; the
 * message says what and where.
 */
int gitview_open_main(struct gitview_repo **out, struct gitview_above *above, const char *root,
		      const char *allowed_root, struct errbuf *err);

/**
 * Reads the nested repository (or submodule) whose top is the directory open as `dirfd`, at
 * `abs` (its canonical path) and `rel` (its path from the scan root, rel_len > 0). 0; -ENOENT
 * when it holds no usable `.git` (a submodule not checked out: nothing to list); other errors as
 * gitview_open_main().
 */
int gitview_open_nested(struct gitview_repo **out, const char *abs, const char *rel,
			size_t rel_len, const char *allowed_root, struct errbuf *err);

/** The checks of gitview_open_main() without keeping anything: for the API's 422. */
int gitview_check(const char *root, const char *allowed_root, struct errbuf *err);

/** Frees what gitview_open_main() put in *above. */
void gitview_above_free(struct gitview_above *above);

struct gitview_repo *gitview_ref(struct gitview_repo *r);
void gitview_unref(struct gitview_repo *r);

/** The entry of path[0..len) (from the repository's top), or SIZE_MAX. Thread-safe. */
size_t gitview_find(const struct gitview_repo *r, const char *path, size_t len);

/** gitview_find() among entries [lo, hi) only (a directory's, from gitview_range()). */
size_t gitview_find_in(const struct gitview_repo *r, size_t lo, size_t hi, const char *path,
		       size_t len);

/**
 * The entries below directory dir[0..len) (from the top; len 0: all) as [*lo, *hi). Thread-safe.
 */
void gitview_range(const struct gitview_repo *r, const char *dir, size_t len, size_t *lo,
		   size_t *hi);

#endif
