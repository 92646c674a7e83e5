/* store.c: opening the LMDB store, its lock and format, and the scan records. */
#include "store/store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/clock.h"

/*
 * Design.
 *
 * One LMDB environment, the file <dir>/leindex.mdb (MDB_NOSUBDIR), with eight named tables:
 *
 *   meta        "format" -> BE64 format version; "next_scan_id", "next_dir_id" -> BE64
 *   scans       BE64 scan id -> record (store_codec.c)
 *   tombstones  BE64 scan id -> "": the scan is deleted, its rows wait for the purge
 *   entries     BE64 dir_id + name -> encoded entry (varints, ~30 bytes a file)
 *   dirs        BE64 dir_id -> (scan id, parent dir_id, name)
 *   links       BE64 parent dir_id + child name -> BE64 child dir_id; the root of scan S is
 *               linked from (0, BE64 S)
 *   errors      BE64 scan id + BE64 seq -> (errno, op, path)
 *   tree        BE64 dir_id -> varints (entries, files, bytes) of its subtree, written when the
 *               scan finishes (store_tree.c); created when absent, so older stores open as they
 *               were and get the rows of their scans on the first read of /tree
 *   samples     BE64 scan id -> progress samples (store_scan.c), written once a scan is over
 *
 * Files: store.c opens and closes; store_recover.c and store_format.c run the open-time
 * transaction (format migrations, interrupted scans); store_scan.c keeps the scan records and
 * tombstones; store_batch.c and store_writer.c take entries to disk; store_state.c remembers per
 * scan what the writer needs; store_walk.c reads entries back; store_purge.c removes deleted
 * scans' rows.
 *
 * Writing. Scan workers encode entries into a struct store_batch (store_batch.c), one per
 * directory, in name order. store_put_dir() hands the batch's buffer to the queue (no copy) and,
 * in the same critical section, gives the directory the next dir_id: so the queue is in dir_id
 * order, each batch in name order, and the whole queue is in key order. One writer thread takes
 * everything queued at once and writes it in one transaction with MDB_APPEND cursors, which fill
 * pages completely and skip the B-tree search. When that transaction fails and it held several
 * scans, each scan is retried alone so that a full map or a disk error fails only the scans that
 * hit it; the failure is kept per scan and returned by that scan's later calls.
 *
 * Deleting. A tombstone, committed and synced in its own small transaction, makes a scan gone
 * for every reader at once (each read checks the tombstones table in its own transaction) and for
 * the writer, which checks inside each write transaction that the scans it writes are alive, so
 * nothing queued before the tombstone lands after it. The purge then removes the rows in chunks;
 * the tombstone goes last, so a purge cut short is found and resumed by the next open.
 *
 * Durability. The environment runs with MDB_NOMETASYNC: each commit does one fdatasync of its
 * data pages and writes the meta page without waiting for it (the next commit's sync covers it),
 * so a power loss keeps the file consistent and loses at most the last transaction. That costs
 * no throughput because commits group themselves: while the writer waits for the disk, the
 * queue fills, and the next transaction takes all of it (72k entries of salsa-like land in
 * about 15 transactions, ~20 ms in all, the same as with MDB_NOSYNC, which could corrupt the
 * file on a power loss). mdb_env_sync() runs before and after a scan record moves to a finished
 * state (its entries are on disk before "completed" is), after a scan is created or tombstoned,
 * after the open-time transaction, and on close.
 *
 * Reading beside a server. STORE_OPEN_READ_ONLY opens the environment MDB_RDONLY and takes no
 * lock of ours: LMDB lets other processes read while one writes (readers register in the
 * lock file's reader table; a dead reader's slot is cleared by the server's next open). The
 * CLI's read commands use it, so they work whether a server owns the directory or not.
 *
 * Reading. Readers use their own read transactions (MDB_NOTLS, so HTTP threads may hold
 * several) and never wait for the writer. store_walk() (store_walk.c) rebuilds paths from the
 * links table as it descends and from the dirs table when it resumes.
 *
 * Locks: s->mu guards the queue, the counters and the per-scan states. The writer takes s->mu
 * only between LMDB calls, never while waiting for LMDB's own writer lock; nothing holds s->mu
 * while waiting for LMDB, so the two cannot deadlock.
 */

int store_mdb_code(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_KEYEXIST:
		return -EEXIST;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_PAGE_FULL:
		return -ENOSPC;
	case MDB_READERS_FULL:
		return -EAGAIN;
	case MDB_VERSION_MISMATCH:
	case MDB_INVALID:
		return -EINVAL;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

/** Below this much free space, an I/O error of a write is taken for a full disk. */
#define STORE_DISK_FULL_BYTES (1u << 20)

int store_mdb_err(struct store *s, struct errbuf *err, int rc, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rc == MDB_MAP_FULL)
		return errbuf_set(err, store_mdb_code(rc),
				  "%s: store full: the LMDB map (%" PRIu64
				  " bytes) is full; raise --map-size",
				  what, s->map_size);
	/*
	 * LMDB reports a write cut short by a full disk as EIO (it sees a short pwrite, not
	 * ENOSPC): say so when the file system of the data directory has next to nothing left.
	 */
	struct statvfs vfs;
	if ((rc == EIO || rc == ENOSPC) && statvfs(s->dir, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < STORE_DISK_FULL_BYTES)
		return errbuf_set(err, -ENOSPC, "%s: %s: the disk holding %s is full (%" PRIu64
				  " bytes free)", what, mdb_strerror(rc), s->dir,
				  (uint64_t)vfs.f_bavail * vfs.f_frsize);
	return errbuf_set(err, store_mdb_code(rc), "%s: %s", what, mdb_strerror(rc));
}

int store_read_begin(struct store *s, MDB_txn **txn, struct errbuf *err)
{
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
	if (rc)
		return store_mdb_err(s, err, rc, "starting a read transaction on %s", s->path);
	return 0;
}

/* Takes the data directory's flock; on contention names the holder from the pid in the file. */
static int store_lock(struct store *s, struct errbuf *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", s->dir, STORE_LOCK_FILE);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return errbuf_errno(err, errno, "opening the lock file %s", path);
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e != EWOULDBLOCK)
			return errbuf_errno(err, e, "locking %s", path);
		char buf[32] = "";
		ssize_t n = pread(s->lock_fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		return errbuf_set(err, -EBUSY,
				  "data directory %s is in use by another leindexd (pid %s); "
				  "stop it or choose another data directory",
				  s->dir, buf[0] ? buf : "unknown");
	}
	char pid[32];
	int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(s->lock_fd, 0) < 0 || pwrite(s->lock_fd, pid, (size_t)len, 0) != len)
		return errbuf_errno(err, errno, "writing the pid to %s", path);
	return 0;
}

int store_meta_get_u64(struct store *s, MDB_txn *txn, const char *key, uint64_t *out, bool *found,
		       struct errbuf *err)
{
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc = mdb_get(txn, s->db_meta, &k, &v);
	*found = false;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_mdb_err(s, err, rc, "reading %s from %s", key, s->path);
	if (v.mv_size != 8)
		return errbuf_set(err, -EIO, "reading %s from %s: corrupt value", key, s->path);
	*out = bytes_be64_get(v.mv_data);
	*found = true;
	return 0;
}

int store_meta_put_u64(struct store *s, MDB_txn *txn, const char *key, uint64_t value,
		       struct errbuf *err)
{
	unsigned char b[8];
	bytes_be64_put(b, value);
	MDB_val k = {strlen(key), (void *)key}, v = {8, b};
	int rc = mdb_put(txn, s->db_meta, &k, &v, 0);
	if (rc)
		return store_mdb_err(s, err, rc, "writing %s to %s", key, s->path);
	return 0;
}

int store_meta_raise(struct store *s, MDB_txn *txn, const char *key, uint64_t value,
		     struct errbuf *err)
{
	uint64_t old = 0;
	bool found;
	int rc = store_meta_get_u64(s, txn, key, &old, &found, err);
	if (rc < 0 || (found && old >= value))
		return rc;
	return store_meta_put_u64(s, txn, key, value, err);
}

void store_note_commit(struct store *s, uint64_t scan_id, const struct errbuf *e, bool proves)
{
	pthread_mutex_lock(&s->mu);
	if (!e) {
		s->commits++;
		if (proves)
			s->writable = true;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->write_errors++;
	s->writable = false;
	struct store_scan_state *st = scan_id ? store_state_find(s, scan_id) : NULL;
	if (st && !st->err_code) {
		st->err_code = e->code < 0 ? e->code : -EIO;
		st->err_msg = strdup(e->msg); /* NULL is handled: "write failed" */
	}
	pthread_mutex_unlock(&s->mu);
}

/* The struct, its names and its locks; everything store_close() may then undo. */
static int store_alloc(struct store **out, const struct store_opts *opts, struct errbuf *err)
{
	struct store *s = calloc(1, sizeof(*s));
	*out = s;
	if (!s)
		return errbuf_errno(err, ENOMEM, "opening the store in %s", opts->dir);
	s->lock_fd = -1;
	s->tail = &s->head;
	s->writable = true;
	s->map_size = opts->map_size ? opts->map_size : (uint64_t)64 << 30;
	if (!(s->dir = strdup(opts->dir)) ||
	    asprintf(&s->path, "%s/%s", opts->dir, STORE_DATA_FILE) < 0) {
		s->path = NULL;
		return errbuf_errno(err, ENOMEM, "opening the store in %s", opts->dir);
	}
	int rc = pthread_mutex_init(&s->mu, NULL);
	if (rc)
		return errbuf_errno(err, rc, "opening the store in %s", s->dir);
	/* The writer's coalescing wait is timed: on CLOCK_MONOTONIC, like every timed wait. */
	if ((rc = clock_cond_init(&s->work_cond))) {
		pthread_mutex_destroy(&s->mu);
		return errbuf_errno(err, rc, "opening the store in %s", s->dir);
	}
	if ((rc = pthread_cond_init(&s->space_cond, NULL))) {
		pthread_cond_destroy(&s->work_cond);
		pthread_mutex_destroy(&s->mu);
		return errbuf_errno(err, rc, "opening the store in %s", s->dir);
	}
	if ((rc = pthread_cond_init(&s->done_cond, NULL))) {
		pthread_cond_destroy(&s->space_cond);
		pthread_cond_destroy(&s->work_cond);
		pthread_mutex_destroy(&s->mu);
		return errbuf_errno(err, rc, "opening the store in %s", s->dir);
	}
	s->mu_ready = true;
	return 0;
}

/* Creates the data directory when missing, checks it is one, and takes its lock. */
static int store_prepare_dir(struct store *s, struct errbuf *err)
{
	if (mkdir(s->dir, 0700) < 0 && errno != EEXIST)
		return errbuf_errno(err, errno, "creating the data directory %s", s->dir);
	struct stat st;
	if (stat(s->dir, &st) < 0)
		return errbuf_errno(err, errno, "opening the data directory %s", s->dir);
	if (!S_ISDIR(st.st_mode))
		return errbuf_set(err, -ENOTDIR, "the data directory %s is not a directory", s->dir);
	return store_lock(s, err);
}

/* Creates and opens the LMDB environment. */
static int store_env_open(struct store *s, const struct store_opts *opts, struct errbuf *err)
{
	int rc = mdb_env_create(&s->env);
	if (rc) {
		s->env = NULL;
		return store_mdb_err(s, err, rc, "creating the LMDB environment for %s", s->path);
	}
	/* Seven tables today; room for those the next formats add. */
	if ((rc = mdb_env_set_maxdbs(s->env, STORE_MAX_TABLES)) ||
	    (rc = mdb_env_set_maxreaders(s->env, opts->max_readers ? opts->max_readers : 512)) ||
	    (rc = mdb_env_set_mapsize(s->env, (size_t)(s->map_size + STORE_RESERVE(s->map_size)))))
		return store_mdb_err(s, err, rc, "configuring the LMDB environment for %s", s->path);
	if ((rc = mdb_env_open(s->env, s->path, MDB_NOSUBDIR | MDB_NOTLS | MDB_NOMETASYNC, 0600)))
		return store_mdb_err(s, err, rc, "opening %s", s->path);
	s->env_open = true;
	/* Reader slots of a process that died holding them would pin old pages forever; we hold
	 * the directory lock, so any other holder is dead. */
	int dead;
	if ((rc = mdb_reader_check(s->env, &dead)))
		return store_mdb_err(s, err, rc, "clearing stale readers of %s", s->path);
	MDB_envinfo info;
	/* A file holding more than the map asked for is opened whole: its map is that large. */
	uint64_t hard = s->map_size + STORE_RESERVE(s->map_size);
	if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize > hard)
		s->map_size += info.me_mapsize - hard;
	return 0;
}

int store_live_bytes(struct store *s, MDB_txn *txn, uint64_t *out, struct errbuf *err)
{
	MDB_stat st;
	uint64_t pages = 2; /* the two meta pages */
	unsigned psize = 0;
	for (unsigned i = 0; i < s->n_tables; i++) {
		int rc = mdb_stat(txn, s->tables[i], &st);
		if (rc)
			return store_mdb_err(s, err, rc, "weighing the tables of %s", s->path);
		pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
		psize = st.ms_psize;
	}
	/* The main table, which names the others: a page or two. */
	pages += 1;
	*out = pages * psize;
	return 0;
}

/*
 * Finishes the purges a previous process left. A full map stops them without failing the open:
 * the scans are gone for readers anyway, and the next open (or store_purge_tombstoned()) goes
 * on. Any other failure fails the open, as a damaged file should.
 */
static int store_purge_leftovers(struct store *s, const uint64_t *ids, size_t n,
				 struct errbuf *err)
{
	for (size_t i = 0; i < n; i++) {
		struct errbuf e;
		errbuf_clear(&e);
		int rc = store_scan_purge(s, ids[i], &e);
		if (rc == -ENOSPC)
			return 0;
		if (rc < 0) {
			if (err)
				*err = e;
			return rc;
		}
	}
	return 0;
}

/*
 * The tables of a read-only open, in a read transaction (they must exist: nothing may be
 * created); "samples", "skips" and "tree" may be absent from a store no version with them has
 * written to. The
 * handles stay valid after the commit. The format must be this binary's: an older one is
 * migrated by a read-write open, which a read-only one cannot do.
 */
static int store_open_tables_ro(struct store *s, struct errbuf *err)
{
	MDB_txn *txn;
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {{"meta", &s->db_meta},       {"scans", &s->db_scans},
		   {"entries", &s->db_entries}, {"dirs", &s->db_dirs},
		   {"links", &s->db_links},     {"errors", &s->db_errors},
		   {"tombstones", &s->db_tombstones}};
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		if ((rc = mdb_dbi_open(txn, dbs[i].name, 0, dbs[i].dbi))) {
			mdb_txn_abort(txn);
			if (rc == MDB_NOTFOUND)
				return errbuf_set(err, -EINVAL, "%s has no table %s: it was written by "
						  "an older leindexd; start the server on it once to "
						  "update it", s->path, dbs[i].name);
			return store_mdb_err(s, err, rc, "opening table %s of %s", dbs[i].name, s->path);
		}
	}
	/* Tables newer than format 2 may be absent: an absent one gets a handle LMDB refuses
	 * (EINVAL), never another table's. */
	struct {
		const char *name;
		MDB_dbi *dbi;
	} opt[] = {{"samples", &s->db_samples}, {"skips", &s->db_skips}, {"tree", &s->db_tree}};
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		rc = mdb_dbi_open(txn, opt[i].name, 0, opt[i].dbi);
		if (rc == MDB_NOTFOUND)
			*opt[i].dbi = (MDB_dbi)-1;
		else if (rc) {
			mdb_txn_abort(txn);
			return store_mdb_err(s, err, rc, "opening table %s of %s", opt[i].name,
					     s->path);
		}
	}
	s->has_samples = s->db_samples != (MDB_dbi)-1;
	uint64_t format = 0;
	bool found = false;
	if ((rc = store_meta_get_u64(s, txn, STORE_META_FORMAT, &format, &found, err)) < 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)))
		return store_mdb_err(s, err, rc, "reading the tables of %s", s->path);
	if (!found || format != STORE_FORMAT_VERSION)
		return errbuf_set(err, -EINVAL, "%s is in store format %llu and this leindexd reads "
				  "format %d: %s", s->path, (unsigned long long)format,
				  STORE_FORMAT_VERSION, format > STORE_FORMAT_VERSION
				  ? "use the leindexd that wrote it"
				  : "start the server (or leindexd scan) on it once to migrate it");
	return 0;
}

/* store_open() with STORE_OPEN_READ_ONLY: see store.h. */
static int store_open_ro(struct store *s, const struct store_opts *opts, struct errbuf *err)
{
	struct stat st;
	s->read_only = true;
	if (stat(s->path, &st) < 0) {
		int e = errno;
		if (e == ENOENT)
			return errbuf_set(err, -ENOENT, "there is no store in %s (no scan was stored "
					  "with this data directory; see --data-dir)", s->dir);
		return errbuf_errno(err, e, "opening %s", s->path);
	}
	int rc = mdb_env_create(&s->env);
	if (rc) {
		s->env = NULL;
		return store_mdb_err(s, err, rc, "creating the LMDB environment for %s", s->path);
	}
	/* No map size: LMDB takes the one the file was written with. */
	if ((rc = mdb_env_set_maxdbs(s->env, 16)) ||
	    (rc = mdb_env_set_maxreaders(s->env, opts->max_readers ? opts->max_readers : 512)))
		return store_mdb_err(s, err, rc, "configuring the LMDB environment for %s", s->path);
	if ((rc = mdb_env_open(s->env, s->path, MDB_NOSUBDIR | MDB_NOTLS | MDB_RDONLY, 0600)))
		return store_mdb_err(s, err, rc, "opening %s read-only", s->path);
	s->env_open = true;
	MDB_envinfo info;
	if (mdb_env_info(s->env, &info) == 0)
		s->map_size = info.me_mapsize;
	return store_open_tables_ro(s, err);
}

int store_open(struct store **out, const struct store_opts *opts, struct errbuf *err)
{
	uint64_t *tomb = NULL;
	size_t ntomb = 0;
	struct store *s = NULL;
	int rc;
	*out = NULL;
	if (!opts || !opts->dir || !opts->dir[0])
		return errbuf_set(err, -EINVAL, "opening the store: no data directory given");
	if (opts->flags & STORE_OPEN_READ_ONLY) {
		if ((rc = store_alloc(&s, opts, err)) < 0 || (rc = store_open_ro(s, opts, err)) < 0) {
			store_close(s);
			return rc;
		}
		*out = s;
		return 0;
	}
	if ((rc = store_alloc(&s, opts, err)) < 0 || (rc = store_prepare_dir(s, err)) < 0 ||
	    (rc = store_env_open(s, opts, err)) < 0 ||
	    (rc = store_recover(s, opts, &tomb, &ntomb, err)) < 0 ||
	    (rc = store_purge_leftovers(s, tomb, ntomb, err)) < 0 ||
	    (rc = store_writer_start(s, err)) < 0) {
		free(tomb);
		store_close(s);
		return rc < 0 ? rc : -EIO;
	}
	free(tomb);
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_writer_stop(s);
	if (s->env) {
		if (s->env_open && !s->read_only)
			mdb_env_sync(s->env, 1);
		mdb_env_close(s->env);
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* releases the flock */
	store_states_free(s);
	if (s->mu_ready) {
		pthread_cond_destroy(&s->work_cond);
		pthread_cond_destroy(&s->space_cond);
		pthread_cond_destroy(&s->done_cond);
		pthread_mutex_destroy(&s->mu);
	}
	free(s->dir);
	free(s->path);
	free(s);
}

const char *store_dir(const struct store *s)
{
	return s->dir;
}

int store_info(struct store *s, struct store_info *out, struct errbuf *err)
{
	struct stat st;
	MDB_envinfo info;
	MDB_stat mst;
	memset(out, 0, sizeof(*out));
	if (stat(s->path, &st) < 0)
		return errbuf_errno(err, errno, "reading the size of %s", s->path);
	int rc = mdb_env_info(s->env, &info);
	if (!rc)
		rc = mdb_env_stat(s->env, &mst);
	if (rc)
		return store_mdb_err(s, err, rc, "reading the figures of %s", s->path);
	out->file_bytes = (uint64_t)st.st_size;
	out->map_bytes = s->map_size;
	MDB_txn *txn;
	if ((rc = store_read_begin(s, &txn, err)) < 0)
		return rc;
	if ((rc = store_live_bytes(s, txn, &out->used_bytes, err)) < 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = mdb_stat(txn, s->db_tombstones, &mst);
	mdb_txn_abort(txn);
	if (rc)
		return store_mdb_err(s, err, rc, "counting the tombstones of %s", s->path);
	out->tombstones = mst.ms_entries;
	pthread_mutex_lock(&s->mu);
	out->commits = s->commits;
	out->write_errors = s->write_errors;
	out->writable = s->writable;
	out->scan_states = s->states.count;
	pthread_mutex_unlock(&s->mu);
	return 0;
}
