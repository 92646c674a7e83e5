/*
 * make_v1.c: adds the shapes a crash leaves to a format-1 store made by `leindexd scan`, and
 * writes manifest.txt: what the store holds, as the format-1 code reads it.
 *
 * Built against the store of commit 48d6df1 (store format 1), never by the build: see make.sh.
 * Usage: make_v1 DATA_DIR MANIFEST
 *
 * It adds
 *   - a scan left "running" by a crash, with directories, every entry type and errors (the next
 *     open marks it interrupted: format 2 also counts what it stored);
 *   - a scan whose deletion was cut short (make.sh removes its record and leaves the format-1
 *     "deleting:" marker; its rows stay), listed as "gone";
 *   - a scan deleted to the end (a gap in the ids), listed as "gone".
 *
 * manifest.txt, one record a line, fields separated by one space; byte strings are written with
 * every byte outside '!'..'~' and every '%' as %XX ("-" alone: none or empty):
 *   scan ID STATE DIRS FILES SYMLINKS OTHER BYTES ERRORS CREATED STARTED FINISHED ROOT OPTIONS
 *   entry PATH TYPE FLAGS MODE UID GID SIZE INO NLINK MTIME MTIME_NS CTIME CTIME_NS TARGET SHA256
 *         (SHA256 in 64 hex digits, or "-")
 *   error SEQ ERRNO OP PATH
 *   gone ID
 * Entries and errors follow their scan, in the order store_walk() and store_errors() give them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "store/store.h"

static void die(const char *what, const struct errbuf *err)
{
	fprintf(stderr, "make_v1: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

static void hex(FILE *f, const void *p, size_t n)
{
	const unsigned char *b = p;
	if (!p || n == 0) {
		fputc('-', f);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (b[i] > ' ' && b[i] <= '~' && b[i] != '%' && !(n == 1 && b[i] == '-'))
			fputc(b[i], f);
		else
			fprintf(f, "%%%02x", b[i]);
	}
}

static int dump_entry(void *ctx, const char *path, size_t len, const struct entry *e)
{
	FILE *f = ctx;
	fputs("entry ", f);
	hex(f, path, len);
	fprintf(f, " %d %u %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64
		   " %" PRId64 " %" PRIu32 " %" PRId64 " %" PRIu32 " ",
		(int)e->type, e->flags, e->mode, e->uid, e->gid, e->size, e->ino, e->nlink,
		e->mtime_sec, e->mtime_nsec, e->ctime_sec, e->ctime_nsec);
	hex(f, e->target, e->target_len);
	fputc(' ', f);
	if (e->flags & ENTRY_HAS_HASH)
		for (int i = 0; i < 32; i++)
			fprintf(f, "%02x", e->sha256[i]);
	else
		fputc('-', f);
	fputc('\n', f);
	return 0;
}

static int dump_error(void *ctx, const struct store_error *e)
{
	FILE *f = ctx;
	fprintf(f, "error %" PRIu64 " %d ", e->seq, e->errnum);
	hex(f, e->op, strlen(e->op));
	fputc(' ', f);
	hex(f, e->path, e->path_len);
	fputc('\n', f);
	return 0;
}

struct dump {
	struct store *s;
	FILE *f;
};

static int dump_scan(void *ctx, const struct store_scan *sc)
{
	struct dump *d = ctx;
	struct errbuf err = {0};
	const struct store_scan_totals *t = &sc->totals;
	fprintf(d->f, "scan %" PRIu64 " %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		      " %" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64 " ",
		sc->id, scan_state_name(sc->state), t->dirs, t->files, t->symlinks, t->other,
		t->bytes, t->errors, sc->created_ns, sc->started_ns, sc->finished_ns);
	hex(d->f, sc->root, sc->root_len);
	fputc(' ', d->f);
	hex(d->f, sc->options_json, sc->options_json ? strlen(sc->options_json) : 0);
	fputc('\n', d->f);
	struct store_pos next;
	bool more;
	if (store_walk(d->s, sc->id, NULL, NULL, SIZE_MAX, dump_entry, d->f, &next, &more, &err) < 0)
		die("walking", &err);
	uint64_t after;
	if (store_errors(d->s, sc->id, 0, SIZE_MAX, dump_error, d->f, &after, &more, &err) < 0)
		die("reading errors", &err);
	return 0;
}

/* A directory of the crashed scans: names in bytewise order, every entry type. */
static void put_dir(struct store *s, uint64_t scan, uint64_t parent, const char *name,
		    const char *const *names, const enum entry_type *types, size_t n, uint64_t *id)
{
	struct store_batch *b;
	struct errbuf err = {0};
	if (store_batch_create(&b, &err) < 0)
		die("batch", &err);
	for (size_t i = 0; i < n; i++) {
		struct entry e = {.name = names[i], .name_len = strlen(names[i]), .type = types[i],
				  .flags = ENTRY_HAS_STAT, .mode = types[i] == ENTRY_DIR ? 0755 : 0644,
				  .uid = 1000, .gid = 1000, .size = 1000 * (i + 1) + scan,
				  .ino = 5000 + scan * 100 + i, .nlink = 1,
				  .mtime_sec = 1700000000 + (int64_t)i, .mtime_nsec = 7,
				  .ctime_sec = 1700000001 + (int64_t)i, .ctime_nsec = 9};
		if (types[i] == ENTRY_SYMLINK) {
			e.target = "../target";
			e.target_len = 9;
		}
		if (store_batch_add(b, &e, &err) < 0)
			die("batch add", &err);
	}
	if (store_put_dir(s, scan, parent, name, strlen(name), b, id, &err) < 0)
		die("put dir", &err);
	store_batch_destroy(b);
}

/* Creates a scan in `state` holding a root, two subdirectories and three errors. */
static uint64_t crashed_scan(struct store *s, enum scan_state state, const char *root)
{
	struct errbuf err = {0};
	struct store_scan sc = {.state = state, .root = (char *)root, .root_len = strlen(root),
				.options_json = (char *)"{\"workers\":2}", .created_ns = 1700000000000000000,
				.started_ns = 1700000000500000000};
	if (store_scan_create(s, &sc, &err) < 0)
		die("create", &err);
	static const char *const rn[] = {"a", "b.txt", "fifo", "link", "z"};
	static const enum entry_type rt[] = {ENTRY_DIR, ENTRY_FILE, ENTRY_OTHER, ENTRY_SYMLINK,
					     ENTRY_DIR};
	static const char *const an[] = {"x.c", "y.c", "\xff-not-utf8"};
	static const enum entry_type at[] = {ENTRY_FILE, ENTRY_FILE, ENTRY_FILE};
	static const char *const zn[] = {"deeper", "l2"};
	static const enum entry_type zt[] = {ENTRY_DIR, ENTRY_SYMLINK};
	uint64_t rid, aid, zid, did;
	put_dir(s, sc.id, 0, "", rn, rt, 5, &rid);
	put_dir(s, sc.id, rid, "a", an, at, 3, &aid);
	put_dir(s, sc.id, rid, "z", zn, zt, 2, &zid);
	put_dir(s, sc.id, zid, "deeper", NULL, NULL, 0, &did);
	if (store_put_error(s, sc.id, "z/deeper/gone", 13, "open", EACCES, &err) < 0 ||
	    store_put_error(s, sc.id, "a/x.c", 5, "statx", ENOENT, &err) < 0 ||
	    store_put_error(s, sc.id, "link", 4, "readlink", EIO, &err) < 0 ||
	    store_flush(s, sc.id, &err) < 0)
		die("errors", &err);
	return sc.id;
}

/* What a crash between format 1's two deletion steps leaves: no record, a marker, the rows. */
static void forge_cut_short(const char *dir, uint64_t id)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/leindex.mdb", dir);
	unsigned char key[8], mkey[9 + 8];
	for (int i = 0; i < 8; i++)
		key[i] = (unsigned char)(id >> (56 - 8 * i));
	memcpy(mkey, "deleting:", 9);
	memcpy(mkey + 9, key, 8);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi scans, meta;
	MDB_val k = {8, key}, mk = {17, mkey}, v = {0, ""};
	if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) ||
	    mdb_env_open(env, path, MDB_NOSUBDIR, 0600) || mdb_txn_begin(env, NULL, 0, &txn) ||
	    mdb_dbi_open(txn, "scans", 0, &scans) || mdb_dbi_open(txn, "meta", 0, &meta) ||
	    mdb_del(txn, scans, &k, NULL) || mdb_put(txn, meta, &mk, &v, 0) || mdb_txn_commit(txn))
		die("forging the cut-short deletion", NULL);
	mdb_env_close(env);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: make_v1 DATA_DIR MANIFEST\n");
		return 2;
	}
	struct store *s;
	struct store_opts o = {.dir = argv[1]};
	struct errbuf err = {0};
	if (store_open(&s, &o, &err) < 0)
		die("open", &err);
	uint64_t running = crashed_scan(s, SCAN_RUNNING, "/crashed/while/running");
	uint64_t cut = crashed_scan(s, SCAN_COMPLETED, "/deletion/cut/short");
	uint64_t deleted = crashed_scan(s, SCAN_COMPLETED, "/deleted");
	if (store_scan_delete(s, deleted, &err) < 0)
		die("delete", &err);

	FILE *f = fopen(argv[2], "w");
	if (!f)
		die("manifest", NULL);
	struct dump d = {s, f};
	/* Oldest first; the cut-short deletion is listed as gone (make.sh removes its record). */
	uint64_t last = running + 2;
	for (uint64_t id = 1; id <= last; id++) {
		struct store_scan sc;
		if (id == cut || id == deleted) {
			fprintf(f, "gone %" PRIu64 "\n", id);
			continue;
		}
		if (store_scan_get(s, id, &sc, &err) < 0)
			die("get", &err);
		dump_scan(&d, &sc);
		store_scan_clear(&sc);
	}
	fclose(f);
	store_close(s);
	forge_cut_short(argv[1], cut);
	printf("running=%" PRIu64 " cut=%" PRIu64 " deleted=%" PRIu64 "\n", running, cut, deleted);
	return 0;
}
