/* test_store_util.h: helpers shared by the store's unit tests (temp dirs, trees, walks). */
#ifndef LEINDEX_TEST_STORE_UTIL_H
#define LEINDEX_TEST_STORE_UTIL_H

#include <errno.h>
#include <inttypes.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "tests/unit/unit.h"

static int tsu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/** Removes a temp directory tree. */
static inline void tsu_rmrf(const char *dir)
{
	nftw(dir, tsu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/** Makes /tmp/leindex-store-XXXXXX into `buf` (64 bytes). */
static inline char *tsu_tmpdir(char *buf)
{
	strcpy(buf, "/tmp/leindex-store-XXXXXX");
	if (!mkdtemp(buf)) {
		perror("mkdtemp");
		exit(2);
	}
	return buf;
}

/** Opens a store in `dir` or fails the test and exits. */
static inline struct store *tsu_open(const char *dir, uint64_t map_size)
{
	struct store_opts o = {.dir = dir, .map_size = map_size};
	struct errbuf err = {0};
	struct store *s = NULL;
	if (store_open(&s, &o, &err) < 0) {
		fprintf(stderr, "store_open: %s\n", err.msg);
		exit(2);
	}
	return s;
}

/** Creates a scan in state `st` and returns its id. */
static inline uint64_t tsu_scan(struct store *s, enum scan_state st, const char *root)
{
	struct store_scan sc = {.state = st, .root = (char *)root, .root_len = strlen(root),
				.options_json = (char *)"{}", .created_ns = 1};
	struct errbuf err = {0};
	int rc = store_scan_create(s, &sc, &err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_TRUE(sc.id > 0);
	return sc.id;
}

/** A test entry whose fields derive from `seed` so that the walk can check them. */
static inline struct entry tsu_entry(const char *name, enum entry_type type, uint64_t seed)
{
	struct entry e = {.name = name, .name_len = strlen(name), .type = type,
			  .flags = ENTRY_HAS_STAT, .mode = 0644, .uid = 1000 + (uint32_t)(seed % 3),
			  .gid = 100, .size = seed * 4099, .ino = 1000000 + seed, .nlink = 1,
			  .mtime_sec = 1700000000 + (int64_t)seed, .ctime_sec = 1700000000 + (int64_t)seed,
			  .mtime_nsec = (uint32_t)(seed * 7919 % 1000000000),
			  .ctime_nsec = (uint32_t)(seed * 104729 % 1000000000)};
	return e;
}

/** What a walk gave: paths, in order, NUL-terminated copies. */
struct tsu_list {
	char **paths;
	size_t n, cap;
	enum entry_type *types;
};

static inline void tsu_list_add(struct tsu_list *l, const char *p, size_t len, enum entry_type t)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->paths = realloc(l->paths, l->cap * sizeof(*l->paths));
		l->types = realloc(l->types, l->cap * sizeof(*l->types));
		if (!l->paths || !l->types)
			abort();
	}
	l->paths[l->n] = strndup(p, len);
	if (!l->paths[l->n])
		abort();
	l->types[l->n++] = t;
}

static inline void tsu_list_free(struct tsu_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->paths[i]);
	free(l->paths);
	free(l->types);
	memset(l, 0, sizeof(*l));
}

static inline int tsu_collect(void *ctx, const char *path, size_t len, const struct entry *e)
{
	tsu_list_add(ctx, path, len, e->type);
	return 0;
}

/** Walks a whole scan in pages of `page` entries into `out`; returns the last rc. */
static inline int tsu_walk_all(struct store *s, uint64_t scan, const struct store_walk_filter *f,
			       size_t page, struct tsu_list *out)
{
	struct store_pos pos, next;
	bool more, first = true;
	struct errbuf err = {0};
	for (;;) {
		int rc = store_walk(s, scan, f, first ? NULL : &pos, page, tsu_collect, out, &next,
				    &more, &err);
		if (rc < 0)
			return rc;
		if (!more)
			return 0;
		pos = next;
		first = false;
	}
}

static inline double tsu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Puts a directory of `n` files named f<i> (zero-padded so they sort). */
static inline int tsu_put_files(struct store *s, uint64_t scan, uint64_t parent, const char *name, int n,
		     uint64_t *id, struct errbuf *err)
{
	struct store_batch *b;
	char fname[32];
	if (store_batch_create(&b, err) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		snprintf(fname, sizeof(fname), "f%07d", i);
		struct entry e = tsu_entry(fname, ENTRY_FILE, (uint64_t)i);
		store_batch_add(b, &e, err);
	}
	int rc = store_put_dir(s, scan, parent, name, strlen(name), b, id, err);
	store_batch_destroy(b);
	return rc;
}

#endif
