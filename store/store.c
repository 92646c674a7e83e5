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
#include <time.h>
#include <unistd.h>

#include "store/store_codec.h"

/*
 * Design.
 *
 * One LMDB environment, the file <dir>/leindex.mdb (MDB_NOSUBDIR), with six named tables:
 *
 *   meta     "format" -> BE64 format version; "next_scan_id", "next_dir_id" -> BE64;
 *            "deleting:"+BE64 scan -> "" while a deletion is under way (resumed on open)
 *   scans    BE64 scan id -> record (store_codec.c)
 *   entries  BE64 dir_id + name -> encoded entry (varints, ~30 bytes a file)
 *   dirs     BE64 dir_id -> (scan id, parent dir_id, name)
 *   links    BE64 parent dir_id + child name -> BE64 child dir_id; the root of scan S is
 *            linked from (0, BE64 S)
 *   errors   BE64 scan id + BE64 seq -> (errno, op, path)
 *
 * Writing. Scan workers encode entries into a struct store_batch (store_writer.c), one per
 * directory, in name order. store_put_dir() hands the batch's buffer to the queue (no copy) and,
 * in the same critical section, gives the directory the next dir_id: so the queue is in dir_id
 * order, each batch in name order, and the whole queue is in key order. One writer thread takes
 * everything queued at once and writes it in one transaction with MDB_APPEND cursors, which fill
 * pages completely and skip the B-tree search. When that transaction fails and it held several
 * scans, each scan is retried alone so that a full map or a disk error fails only the scans that
 * hit it; the failure is kept per scan and returned by that scan's later calls.
 *
 * Durability. The environment runs with MDB_NOMETASYNC: each commit does one fdatasync of its
 * data pages and writes the meta page without waiting for it (the next commit's sync covers it),
 * so a power loss keeps the file consistent and loses at most the last transaction. That costs
 * no throughput because commits group themselves: while the writer waits for the disk, the
 * queue fills, and the next transaction takes all of it (72k entries of salsa-like land in
 * about 15 transactions, ~20 ms in all, the same as with MDB_NOSYNC, which could corrupt the
 * file on a power loss). mdb_env_sync() runs before and after a scan record moves to a finished
 * state (its entries are on disk before "completed" is), after a scan is created or deleted, and
 * on close.
 *
 * Reading. Readers use their own read transactions (MDB_NOTLS, so HTTP threads may hold
 * several) and never wait for the writer. store_walk() (store_walk.c) rebuilds paths from the
 * links table as it descends and from the dirs table when it resumes.
 *
 * Locks: s->mu guards the queue, the counters and the per-scan states. The writer takes s->mu
 * only between LMDB calls, never while waiting for LMDB's own writer lock; nothing holds s->mu
 * while waiting for LMDB, so the two cannot deadlock.
 */

static const char *const store_state_names[SCAN_STATE_COUNT] = {
	"queued", "running", "completed", "failed", "cancelled", "interrupted",
};

const char *scan_state_name(enum scan_state state)
{
	return (unsigned)state < SCAN_STATE_COUNT ? store_state_names[state] : "unknown";
}

int scan_state_parse(const char *name, enum scan_state *out)
{
	for (unsigned i = 0; i < SCAN_STATE_COUNT; i++) {
		if (strcmp(name, store_state_names[i]) == 0) {
			*out = (enum scan_state)i;
			return 0;
		}
	}
	return -1;
}

bool scan_state_finished(enum scan_state state)
{
	return state == SCAN_COMPLETED || state == SCAN_FAILED || state == SCAN_CANCELLED ||
	       state == SCAN_INTERRUPTED;
}

void store_scan_clear(struct store_scan *scan)
{
	if (!scan)
		return;
	free(scan->root);
	free(scan->options_json);
	free(scan->counters_json);
	free(scan->error);
	memset(scan, 0, sizeof(*scan));
}

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
	return errbuf_set(err, store_mdb_code(rc), "%s: %s", what, mdb_strerror(rc));
}

struct store_scan_state *store_state_get(struct store *s, uint64_t scan_id, bool create)
{
	for (struct store_scan_state *st = s->scans; st; st = st->next)
		if (st->scan_id == scan_id)
			return st;
	if (!create)
		return NULL;
	struct store_scan_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->scan_id = scan_id;
	st->next = s->scans;
	s->scans = st;
	return st;
}

int store_read_begin(struct store *s, MDB_txn **txn, struct errbuf *err)
{
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
	if (rc)
		return store_mdb_err(s, err, rc, "starting a read transaction on %s", s->path);
	return 0;
}

static int64_t store_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
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

static int store_meta_get_u64(struct store *s, MDB_txn *txn, const char *key, uint64_t *out,
			      bool *found, struct errbuf *err)
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

int store_meta_raise(struct store *s, MDB_txn *txn, const char *key, uint64_t value,
		     struct errbuf *err)
{
	uint64_t old = 0;
	bool found;
	int rc = store_meta_get_u64(s, txn, key, &old, &found, err);
	if (rc < 0 || (found && old >= value))
		return rc;
	unsigned char b[8];
	bytes_be64_put(b, value);
	MDB_val k = {strlen(key), (void *)key}, v = {8, b};
	if ((rc = mdb_put(txn, s->db_meta, &k, &v, 0)))
		return store_mdb_err(s, err, rc, "writing %s to %s", key, s->path);
	return 0;
}

/* The format check, the id counters, and the scans a previous process left unfinished. */
static int store_recover(struct store *s, uint64_t **deleting, size_t *ndeleting,
			 struct errbuf *err)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return store_mdb_err(s, err, rc, "starting a write transaction on %s", s->path);
	struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {{"meta", &s->db_meta},   {"scans", &s->db_scans}, {"entries", &s->db_entries},
		   {"dirs", &s->db_dirs},   {"links", &s->db_links}, {"errors", &s->db_errors}};
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		if ((rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbs[i].dbi))) {
			rc = store_mdb_err(s, err, rc, "opening table %s of %s", dbs[i].name,
					   s->path);
			goto fail;
		}
	}

	uint64_t format = 0;
	bool found;
	if ((rc = store_meta_get_u64(s, txn, STORE_META_FORMAT, &format, &found, err)) < 0)
		goto fail;
	if (found && format != STORE_FORMAT_VERSION) {
		rc = errbuf_set(err, -EPROTO,
				"data directory %s has store format %" PRIu64
				"; this binary reads format %d",
				s->dir, format, STORE_FORMAT_VERSION);
		goto fail;
	}
	if (!found &&
	    (rc = store_meta_raise(s, txn, STORE_META_FORMAT, STORE_FORMAT_VERSION, err)) < 0)
		goto fail;

	uint64_t next = 1;
	if ((rc = store_meta_get_u64(s, txn, STORE_META_NEXT_SCAN, &next, &found, err)) < 0)
		goto fail;
	s->next_scan_id = found && next > 0 ? next : 1;
	if ((rc = store_meta_get_u64(s, txn, STORE_META_NEXT_DIR, &next, &found, err)) < 0)
		goto fail;
	s->next_dir_id = found && next > 0 ? next : 1;

	MDB_val k, v;
	if ((rc = mdb_cursor_open(txn, s->db_dirs, &cur))) {
		rc = store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
		goto fail;
	}
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == 8 && bytes_be64_get(k.mv_data) >= s->next_dir_id)
		s->next_dir_id = bytes_be64_get(k.mv_data) + 1;
	else if (rc && rc != MDB_NOTFOUND) {
		rc = store_mdb_err(s, err, rc, "reading the last directory of %s", s->path);
		goto fail;
	}
	mdb_cursor_close(cur);
	cur = NULL;

	/* Scans a previous process left queued or running will never finish: say so. */
	if ((rc = mdb_cursor_open(txn, s->db_scans, &cur))) {
		rc = store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
		goto fail;
	}
	int64_t now = store_now_ns();
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		enum scan_state st;
		if (k.mv_size != 8 || store_scan_peek_state(v.mv_data, v.mv_size, &st) < 0 ||
		    (st != SCAN_QUEUED && st != SCAN_RUNNING))
			continue;
		uint64_t id = bytes_be64_get(k.mv_data);
		struct store_scan scan;
		unsigned char *buf;
		size_t len;
		if ((rc = store_scan_decode(id, v.mv_data, v.mv_size, &scan)) < 0) {
			rc = errbuf_errno(err, -rc, "reading scan %" PRIu64 " of %s", id, s->path);
			goto fail;
		}
		scan.state = SCAN_INTERRUPTED;
		if (scan.finished_ns == 0)
			scan.finished_ns = now;
		rc = store_scan_encode(&scan, &buf, &len);
		store_scan_clear(&scan);
		if (rc < 0) {
			rc = errbuf_errno(err, -rc, "marking scan %" PRIu64 " interrupted", id);
			goto fail;
		}
		/* Not MDB_CURRENT with k: a value of a new size moves the node, and k.mv_data
		 * points into the page; a key of our own stays valid. */
		unsigned char key[8];
		bytes_be64_put(key, id);
		MDB_val nk = {8, key}, nv = {len, buf};
		rc = mdb_cursor_put(cur, &nk, &nv, 0);
		free(buf);
		if (rc) {
			rc = store_mdb_err(s, err, rc, "marking scan %" PRIu64 " of %s interrupted",
					   id, s->path);
			goto fail;
		}
	}
	if (rc != MDB_NOTFOUND) {
		rc = store_mdb_err(s, err, rc, "reading the scans of %s", s->path);
		goto fail;
	}
	mdb_cursor_close(cur);
	cur = NULL;

	/* Deletions a previous process did not finish; store_open() completes them. */
	if ((rc = mdb_cursor_open(txn, s->db_meta, &cur))) {
		rc = store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
		goto fail;
	}
	size_t plen = strlen(STORE_META_DELETING);
	k = (MDB_val){plen, (void *)STORE_META_DELETING};
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == plen + 8 && memcmp(k.mv_data, STORE_META_DELETING, plen) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint64_t *d = realloc(*deleting, (*ndeleting + 1) * sizeof(**deleting));
		if (!d) {
			rc = errbuf_errno(err, ENOMEM, "reading unfinished deletions of %s", s->path);
			goto fail;
		}
		*deleting = d;
		d[(*ndeleting)++] = bytes_be64_get((const unsigned char *)k.mv_data + plen);
	}
	if (rc && rc != MDB_NOTFOUND) {
		rc = store_mdb_err(s, err, rc, "reading unfinished deletions of %s", s->path);
		goto fail;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	if ((rc = mdb_txn_commit(txn))) {
		txn = NULL;
		rc = store_mdb_err(s, err, rc, "committing the recovery of %s", s->path);
		goto fail;
	}
	if ((rc = mdb_env_sync(s->env, 1)))
		return store_mdb_err(s, err, rc, "syncing %s", s->path);
	return 0;
fail:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	return rc < 0 ? rc : -EIO;
}

/* Removes the "deletion under way" marker of a scan once its data is gone. */
static int store_deleting_mark(struct store *s, uint64_t scan_id, bool set, MDB_txn *txn,
			       struct errbuf *err)
{
	size_t plen = strlen(STORE_META_DELETING);
	unsigned char key[64];
	memcpy(key, STORE_META_DELETING, plen);
	bytes_be64_put(key + plen, scan_id);
	MDB_val k = {plen + 8, key}, v = {0, ""};
	int rc = set ? mdb_put(txn, s->db_meta, &k, &v, 0) : mdb_del(txn, s->db_meta, &k, NULL);
	if (rc && !(rc == MDB_NOTFOUND && !set))
		return store_mdb_err(s, err, rc, "%s the deletion marker of scan %" PRIu64 " in %s",
				     set ? "writing" : "removing", scan_id, s->path);
	return 0;
}

/* Deletes a scan's data, then its marker. */
static int store_finish_delete(struct store *s, uint64_t scan_id, struct errbuf *err)
{
	int rc = store_delete_data(s, scan_id, err);
	if (rc < 0)
		return rc;
	MDB_txn *txn;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)))
		return store_mdb_err(s, err, rc, "starting a write transaction on %s", s->path);
	if ((rc = store_deleting_mark(s, scan_id, false, txn, err)) < 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)))
		return store_mdb_err(s, err, rc, "committing the deletion of scan %" PRIu64 " in %s",
				     scan_id, s->path);
	return 0;
}

int store_open(struct store **out, const struct store_opts *opts, struct errbuf *err)
{
	uint64_t *deleting = NULL;
	size_t ndeleting = 0;
	int rc;
	*out = NULL;
	if (!opts || !opts->dir || !opts->dir[0])
		return errbuf_set(err, -EINVAL, "opening the store: no data directory given");
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return errbuf_errno(err, ENOMEM, "opening the store in %s", opts->dir);
	s->lock_fd = -1;
	s->tail = &s->head;
	s->writable = true;
	s->map_size = opts->map_size ? opts->map_size : (uint64_t)64 << 30;
	if (!(s->dir = strdup(opts->dir)) ||
	    asprintf(&s->path, "%s/%s", opts->dir, STORE_DATA_FILE) < 0) {
		s->path = NULL;
		rc = errbuf_errno(err, ENOMEM, "opening the store in %s", opts->dir);
		goto fail;
	}
	if (mkdir(s->dir, 0700) < 0 && errno != EEXIST) {
		rc = errbuf_errno(err, errno, "creating the data directory %s", s->dir);
		goto fail;
	}
	struct stat st;
	if (stat(s->dir, &st) < 0) {
		rc = errbuf_errno(err, errno, "opening the data directory %s", s->dir);
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = errbuf_set(err, -ENOTDIR, "the data directory %s is not a directory", s->dir);
		goto fail;
	}
	if ((rc = store_lock(s, err)) < 0)
		goto fail;

	if ((rc = mdb_env_create(&s->env))) {
		s->env = NULL;
		rc = store_mdb_err(s, err, rc, "creating the LMDB environment for %s", s->path);
		goto fail;
	}
	if ((rc = mdb_env_set_maxdbs(s->env, 8)) ||
	    (rc = mdb_env_set_maxreaders(s->env, opts->max_readers ? opts->max_readers : 512)) ||
	    (rc = mdb_env_set_mapsize(s->env, (size_t)s->map_size))) {
		rc = store_mdb_err(s, err, rc, "configuring the LMDB environment for %s", s->path);
		goto fail;
	}
	if ((rc = mdb_env_open(s->env, s->path, MDB_NOSUBDIR | MDB_NOTLS | MDB_NOMETASYNC, 0600))) {
		rc = store_mdb_err(s, err, rc, "opening %s", s->path);
		goto fail;
	}
	s->env_open = true;
	/* Reader slots of a process that died holding them would pin old pages forever; we hold
	 * the directory lock, so any other holder is dead. */
	int dead;
	if ((rc = mdb_reader_check(s->env, &dead))) {
		rc = store_mdb_err(s, err, rc, "clearing stale readers of %s", s->path);
		goto fail;
	}
	MDB_envinfo info;
	if (mdb_env_info(s->env, &info) == 0)
		s->map_size = info.me_mapsize; /* an existing file may have a larger map */
	if ((rc = store_recover(s, &deleting, &ndeleting, err)) < 0)
		goto fail;
	for (size_t i = 0; i < ndeleting; i++)
		if ((rc = store_finish_delete(s, deleting[i], err)) < 0)
			goto fail;
	free(deleting);
	deleting = NULL;

	if ((rc = pthread_mutex_init(&s->mu, NULL))) {
		rc = errbuf_errno(err, rc, "opening the store in %s", s->dir);
		goto fail;
	}
	if ((rc = pthread_cond_init(&s->work_cond, NULL)) ||
	    (rc = pthread_cond_init(&s->space_cond, NULL)) ||
	    (rc = pthread_cond_init(&s->done_cond, NULL))) {
		/* The conds that did init are leaked here: this only fails on ENOMEM. */
		pthread_mutex_destroy(&s->mu);
		rc = errbuf_errno(err, rc, "opening the store in %s", s->dir);
		goto fail;
	}
	s->mu_ready = true;
	if ((rc = store_writer_start(s, err)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	free(deleting);
	store_close(s);
	return rc < 0 ? rc : -EIO;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_writer_stop(s);
	if (s->env) {
		if (s->env_open)
			mdb_env_sync(s->env, 1);
		mdb_env_close(s->env);
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* releases the flock */
	while (s->scans) {
		struct store_scan_state *st = s->scans;
		s->scans = st->next;
		free(st->err_msg);
		free(st);
	}
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

/* Queues a scan record for the writer and waits for its commit. */
static int store_scan_submit(struct store *s, const struct store_scan *scan, uint64_t id,
			     unsigned flags, struct errbuf *err)
{
	if ((unsigned)scan->state >= SCAN_STATE_COUNT)
		return errbuf_set(err, -EINVAL, "writing scan %" PRIu64 ": invalid state %d", id,
				  (int)scan->state);
	unsigned char *rec;
	size_t len;
	if (store_scan_encode(scan, &rec, &len) < 0)
		return errbuf_errno(err, ENOMEM, "writing scan %" PRIu64, id);
	struct store_item *it = calloc(1, sizeof(*it) + len);
	if (!it) {
		free(rec);
		return errbuf_errno(err, ENOMEM, "writing scan %" PRIu64, id);
	}
	it->kind = STORE_ITEM_SCAN;
	it->flags = flags;
	it->scan_id = id;
	it->data_len = len;
	memcpy(it->data, rec, len);
	free(rec);
	struct store_wait wait = {0};
	return store_writer_submit(s, it, &wait, err);
}

int store_scan_create(struct store *s, struct store_scan *scan, struct errbuf *err)
{
	pthread_mutex_lock(&s->mu);
	uint64_t id = s->next_scan_id++;
	pthread_mutex_unlock(&s->mu);
	int rc = store_scan_submit(s, scan, id, STORE_ITEM_CREATE | STORE_ITEM_SYNC, err);
	if (rc < 0)
		return rc;
	scan->id = id;
	return 0;
}

int store_scan_update(struct store *s, const struct store_scan *scan, struct errbuf *err)
{
	unsigned flags = scan_state_finished(scan->state) ? STORE_ITEM_SYNC : 0;
	return store_scan_submit(s, scan, scan->id, flags, err);
}

int store_scan_get(struct store *s, uint64_t id, struct store_scan *out, struct errbuf *err)
{
	MDB_txn *txn;
	unsigned char key[8];
	memset(out, 0, sizeof(*out));
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	bytes_be64_put(key, id);
	MDB_val k = {8, key}, v;
	rc = mdb_get(txn, s->db_scans, &k, &v);
	if (rc == MDB_NOTFOUND)
		rc = errbuf_set(err, -ENOENT, "no scan %" PRIu64, id);
	else if (rc)
		rc = store_mdb_err(s, err, rc, "reading scan %" PRIu64 " from %s", id, s->path);
	else if ((rc = store_scan_decode(id, v.mv_data, v.mv_size, out)) < 0)
		rc = errbuf_errno(err, -rc, "reading scan %" PRIu64 " from %s", id, s->path);
	mdb_txn_abort(txn);
	return rc;
}

int store_scan_list(struct store *s, uint64_t before_id, unsigned state_mask, store_scan_cb cb,
		    void *ctx, struct errbuf *err)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	unsigned char key[8];
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->db_scans, &cur))) {
		mdb_txn_abort(txn);
		return store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
	}
	MDB_val k, v;
	if (before_id == 0) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	} else {
		bytes_be64_put(key, before_id);
		k = (MDB_val){8, key};
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	}
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		enum scan_state st;
		if (k.mv_size != 8 || store_scan_peek_state(v.mv_data, v.mv_size, &st) < 0) {
			rc = errbuf_set(err, -EIO, "listing scans of %s: corrupt record", s->path);
			goto out;
		}
		if (state_mask && !(state_mask & (1u << st)))
			continue;
		uint64_t id = bytes_be64_get(k.mv_data);
		struct store_scan scan;
		if ((rc = store_scan_decode(id, v.mv_data, v.mv_size, &scan)) < 0) {
			rc = errbuf_errno(err, -rc, "reading scan %" PRIu64 " from %s", id, s->path);
			goto out;
		}
		int stop = cb(ctx, &scan);
		store_scan_clear(&scan);
		if (stop) {
			rc = 0;
			goto out;
		}
	}
	rc = rc == MDB_NOTFOUND ? 0 : store_mdb_err(s, err, rc, "listing scans of %s", s->path);
out:
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}

int store_scan_delete(struct store *s, uint64_t id, struct errbuf *err)
{
	/* Refuse further writes for the scan, then let those already queued land. */
	pthread_mutex_lock(&s->mu);
	struct store_scan_state *st = store_state_get(s, id, true);
	if (!st) {
		pthread_mutex_unlock(&s->mu);
		return errbuf_errno(err, ENOMEM, "deleting scan %" PRIu64, id);
	}
	st->deleted = true;
	uint64_t target = s->submit_seq;
	while (s->done_seq < target)
		pthread_cond_wait(&s->done_cond, &s->mu);
	pthread_mutex_unlock(&s->mu);

	/* The record goes first, with a marker, so the scan is gone for readers at once. */
	MDB_txn *txn;
	unsigned char key[8];
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return store_mdb_err(s, err, rc, "starting a write transaction on %s", s->path);
	bytes_be64_put(key, id);
	MDB_val k = {8, key};
	rc = mdb_del(txn, s->db_scans, &k, NULL);
	if (rc == MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		/* An id not handed out yet may still be: do not refuse its writes. */
		pthread_mutex_lock(&s->mu);
		if (id >= s->next_scan_id)
			st->deleted = false;
		pthread_mutex_unlock(&s->mu);
		return errbuf_set(err, -ENOENT, "no scan %" PRIu64, id);
	}
	if (rc) {
		mdb_txn_abort(txn);
		return store_mdb_err(s, err, rc, "deleting scan %" PRIu64 " from %s", id, s->path);
	}
	if ((rc = store_deleting_mark(s, id, true, txn, err)) < 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)))
		return store_mdb_err(s, err, rc, "committing the deletion of scan %" PRIu64 " in %s",
				     id, s->path);
	if ((rc = mdb_env_sync(s->env, 1)))
		return store_mdb_err(s, err, rc, "syncing %s", s->path);
	return store_finish_delete(s, id, err);
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
	out->map_bytes = info.me_mapsize;
	out->used_bytes = ((uint64_t)info.me_last_pgno + 1) * mst.ms_psize;
	pthread_mutex_lock(&s->mu);
	out->commits = s->commits;
	out->write_errors = s->write_errors;
	out->writable = s->writable;
	pthread_mutex_unlock(&s->mu);
	return 0;
}
