/* store_scan.c: scan records: create, update, read, list, and their tombstones. */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_codec.h"

/*
 * Creates and updates go through the writer (store_writer.c), so that an update is ordered after
 * the scan's batches. Reads open their own read transactions. A tombstone is written here, by the
 * calling thread, in its own transaction: it waits for LMDB's writer lock (at most one writer
 * transaction) but never for the queue, however much is pending.
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

MDB_val store_scan_key(unsigned char key[8], uint64_t id)
{
	bytes_be64_put(key, id);
	return (MDB_val){8, key};
}

int store_tombstoned(struct store *s, MDB_txn *txn, uint64_t id, bool *yes, struct errbuf *err)
{
	unsigned char key[8];
	MDB_val k = store_scan_key(key, id), v;
	int rc = mdb_get(txn, s->db_tombstones, &k, &v);
	*yes = rc == 0;
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(s, err, rc, "reading the tombstone of scan %" PRIu64 " from %s",
				     id, s->path);
	return 0;
}

int store_scan_lookup(struct store *s, MDB_txn *txn, uint64_t id, MDB_val *rec,
		      struct errbuf *err)
{
	unsigned char key[8];
	MDB_val k = store_scan_key(key, id);
	int rc = mdb_get(txn, s->db_scans, &k, rec);
	if (rc == MDB_NOTFOUND)
		return errbuf_set(err, -ENOENT, "no scan %" PRIu64, id);
	if (rc)
		return store_mdb_err(s, err, rc, "reading scan %" PRIu64 " from %s", id, s->path);
	bool gone;
	if ((rc = store_tombstoned(s, txn, id, &gone, err)) < 0)
		return rc;
	if (gone)
		return errbuf_set(err, -ENOENT, "no scan %" PRIu64, id);
	return 0;
}

/* A scan record as a queue item for the writer (*out), or a negative error with its message. */
static int store_scan_item(struct store *s, const struct store_scan *scan, uint64_t id,
			   unsigned flags, struct store_item **out, struct errbuf *err)
{
	if (s->read_only)
		return errbuf_set(err, -EROFS, "writing scan %" PRIu64 ": %s is open read-only", id,
				  s->dir);
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
	*out = it;
	return 0;
}

/* Queues a scan record for the writer and waits for its commit. */
static int store_scan_submit(struct store *s, const struct store_scan *scan, uint64_t id,
			     unsigned flags, struct errbuf *err)
{
	struct store_item *it = NULL;
	int rc = store_scan_item(s, scan, id, flags, &it, err);
	if (rc < 0)
		return rc;
	struct store_wait wait = {0};
	return store_writer_submit(s, it, &wait, err);
}

int store_scan_update_many(struct store *s, const struct store_scan *scans, size_t n, int *rcs,
			   struct errbuf *errs, struct errbuf *err)
{
	struct store_item **items = calloc(n ? n : 1, sizeof(*items));
	struct store_wait *waits = calloc(n ? n : 1, sizeof(*waits));
	size_t queued = 0;
	int rc = 0;
	if (!items || !waits)
		rc = errbuf_errno(err, ENOMEM, "writing the records of %zu scans", n);
	/* The records that cannot be made (bad state, no memory) fail alone; the rest go at once. */
	size_t *at = rc == 0 ? calloc(n ? n : 1, sizeof(*at)) : NULL;
	if (rc == 0 && !at)
		rc = errbuf_errno(err, ENOMEM, "writing the records of %zu scans", n);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		errbuf_clear(&errs[i]);
		unsigned flags = STORE_ITEM_GROUP |
				 (scan_state_finished(scans[i].state) ? STORE_ITEM_SYNC : 0);
		rcs[i] = store_scan_item(s, &scans[i], scans[i].id, flags, &items[queued], &errs[i]);
		if (rcs[i] == 0)
			at[queued++] = i;
	}
	if (rc == 0 && (rc = store_writer_submit_many(s, items, waits, queued, err)) < 0)
		for (size_t q = 0; q < queued; q++) {
			rcs[at[q]] = rc;
			errs[at[q]] = *err;
		}
	else if (rc == 0)
		for (size_t q = 0; q < queued; q++) {
			rcs[at[q]] = waits[q].rc;
			errs[at[q]] = waits[q].err;
		}
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (rcs[i] < 0) {
			*err = errs[i];
			rc = rcs[i];
		}
	if (!items || !waits || !at) /* out of memory before anything was queued */
		for (size_t i = 0; i < n; i++) {
			rcs[i] = rc;
			errs[i] = *err;
		}
	free(at);
	free(items);
	free(waits);
	return rc;
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
	MDB_val v;
	memset(out, 0, sizeof(*out));
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	if ((rc = store_scan_lookup(s, txn, id, &v, err)) == 0 &&
	    (rc = store_scan_decode(id, v.mv_data, v.mv_size, out)) < 0)
		rc = errbuf_errno(err, -rc, "reading scan %" PRIu64 " from %s", id, s->path);
	mdb_txn_abort(txn);
	return rc;
}

/* Puts the cursor on the newest scan below `before_id` (0: the newest of all). */
static int store_scan_list_start(MDB_cursor *cur, uint64_t before_id, MDB_val *k, MDB_val *v,
				 unsigned char key[8])
{
	if (before_id == 0)
		return mdb_cursor_get(cur, k, v, MDB_LAST);
	*k = store_scan_key(key, before_id);
	int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (rc == 0)
		return mdb_cursor_get(cur, k, v, MDB_PREV);
	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(cur, k, v, MDB_LAST);
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
	for (rc = store_scan_list_start(cur, before_id, &k, &v, key); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		enum scan_state st;
		if (k.mv_size != 8 || store_scan_peek_state(v.mv_data, v.mv_size, &st) < 0) {
			rc = errbuf_set(err, -EIO, "listing scans of %s: corrupt record", s->path);
			goto out;
		}
		if (state_mask && !(state_mask & (1u << st)))
			continue;
		uint64_t id = bytes_be64_get(k.mv_data);
		bool gone;
		if ((rc = store_tombstoned(s, txn, id, &gone, err)) < 0)
			goto out;
		if (gone)
			continue;
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

/* Writes and commits the tombstone of a live scan; the caller syncs. */
static int store_tombstone_txn(struct store *s, uint64_t id, struct errbuf *err)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return store_mdb_err(s, err, rc, "deleting scan %" PRIu64 ": starting a write "
				     "transaction on %s", id, s->path);
	MDB_val rec, empty = {0, ""};
	unsigned char key[8];
	MDB_val k = store_scan_key(key, id);
	if ((rc = store_scan_lookup(s, txn, id, &rec, err)) < 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	if ((rc = mdb_put(txn, s->db_tombstones, &k, &empty, MDB_NOOVERWRITE))) {
		mdb_txn_abort(txn);
		return store_mdb_err(s, err, rc, "deleting scan %" PRIu64 ": writing its tombstone "
				     "to %s", id, s->path);
	}
	if ((rc = mdb_txn_commit(txn)))
		return store_mdb_err(s, err, rc, "deleting scan %" PRIu64 ": committing its "
				     "tombstone to %s", id, s->path);
	return 0;
}

int store_scan_tombstone(struct store *s, uint64_t id, struct errbuf *err)
{
	if (s->read_only)
		return errbuf_set(err, -EROFS, "deleting scan %" PRIu64 ": %s is open read-only", id,
				  s->dir);
	struct errbuf e;
	errbuf_clear(&e);
	int rc = store_tombstone_txn(s, id, &e);
	if (rc == -ENOENT) {
		if (err)
			*err = e;
		return rc;
	}
	store_note_commit(s, 0, rc < 0 ? &e : NULL, false);
	if (rc < 0) {
		if (err)
			*err = e;
		return rc;
	}
	/* Committed: queued items of the scan are dropped by the writer, new ones refused. */
	pthread_mutex_lock(&s->mu);
	struct store_scan_state *st = store_state_find(s, id);
	if (st) {
		st->deleted = true;
		store_state_prune(s, st);
	}
	pthread_mutex_unlock(&s->mu);
	if ((rc = mdb_env_sync(s->env, 1)))
		return store_mdb_err(s, err, rc, "deleting scan %" PRIu64 ": syncing %s (the "
				     "scan is gone, but a power loss may bring it back)", id, s->path);
	return 0;
}

int store_scan_delete(struct store *s, uint64_t id, struct errbuf *err)
{
	int rc = store_scan_tombstone(s, id, err);
	if (rc < 0)
		return rc;
	return store_scan_purge(s, id, err);
}

/* ---------------------------------------------------------------- progress samples */

/*
 * A samples value: one version byte (1), then per sample six BE64 numbers (t_ms, entries, dirs,
 * files, bytes, errors). A later version may add fields after these, with another version byte.
 */
#define STORE_SAMPLES_V1 1
#define STORE_SAMPLE_BYTES 48

int store_scan_samples_put(struct store *s, uint64_t id, const struct store_sample *v, size_t n,
			   struct errbuf *err)
{
	if (s->read_only)
		return errbuf_set(err, -EROFS, "writing the progress of scan %" PRIu64 ": %s is "
				  "open read-only", id, s->dir);
	if (n > STORE_SAMPLES_MAX)
		n = STORE_SAMPLES_MAX;
	size_t len = 1 + n * STORE_SAMPLE_BYTES;
	unsigned char *buf = malloc(len);
	if (!buf)
		return errbuf_errno(err, ENOMEM, "writing the progress of scan %" PRIu64, id);
	buf[0] = STORE_SAMPLES_V1;
	for (size_t i = 0; i < n; i++) {
		unsigned char *p = buf + 1 + i * STORE_SAMPLE_BYTES;
		const uint64_t f[6] = {v[i].t_ms, v[i].entries, v[i].dirs, v[i].files, v[i].bytes,
				       v[i].errors};
		for (int j = 0; j < 6; j++)
			bytes_be64_put(p + 8 * j, f[j]);
	}
	MDB_txn *txn;
	MDB_val rec;
	unsigned char key[8];
	MDB_val k = store_scan_key(key, id), val = {len, buf};
	struct errbuf e;
	errbuf_clear(&e);
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc) {
		rc = store_mdb_err(s, &e, rc, "writing the progress of scan %" PRIu64 ": starting a "
				   "write transaction on %s", id, s->path);
		goto out;
	}
	if ((rc = store_scan_lookup(s, txn, id, &rec, &e)) < 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	if ((rc = mdb_put(txn, s->db_samples, &k, &val, 0))) {
		mdb_txn_abort(txn);
		rc = store_mdb_err(s, &e, rc, "writing the progress of scan %" PRIu64 " to %s", id,
				   s->path);
		goto out;
	}
	if ((rc = mdb_txn_commit(txn)))
		rc = store_mdb_err(s, &e, rc, "committing the progress of scan %" PRIu64 " to %s",
				   id, s->path);
	if (rc != -ENOENT)
		store_note_commit(s, 0, rc < 0 ? &e : NULL, false);
out:
	free(buf);
	if (rc < 0 && err)
		*err = e;
	return rc;
}

int store_scan_samples_get(struct store *s, uint64_t id, struct store_sample **v, size_t *n,
			   struct errbuf *err)
{
	*v = NULL;
	*n = 0;
	MDB_txn *txn;
	MDB_val rec, val;
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	if ((rc = store_scan_lookup(s, txn, id, &rec, err)) < 0 || !s->has_samples)
		goto out;
	unsigned char key[8];
	MDB_val k = store_scan_key(key, id);
	rc = mdb_get(txn, s->db_samples, &k, &val);
	if (rc == MDB_NOTFOUND) {
		rc = 0;
		goto out;
	}
	if (rc) {
		rc = store_mdb_err(s, err, rc, "reading the progress of scan %" PRIu64 " from %s",
				   id, s->path);
		goto out;
	}
	const unsigned char *p = val.mv_data;
	if (val.mv_size < 1 || p[0] != STORE_SAMPLES_V1 || (val.mv_size - 1) % STORE_SAMPLE_BYTES) {
		rc = errbuf_set(err, -EIO, "reading the progress of scan %" PRIu64 " from %s: "
				"corrupt value", id, s->path);
		goto out;
	}
	size_t cnt = (val.mv_size - 1) / STORE_SAMPLE_BYTES;
	if (cnt && !(*v = malloc(cnt * sizeof(**v)))) {
		rc = errbuf_errno(err, ENOMEM, "reading the progress of scan %" PRIu64, id);
		goto out;
	}
	for (size_t i = 0; i < cnt; i++) {
		const unsigned char *q = p + 1 + i * STORE_SAMPLE_BYTES;
		(*v)[i] = (struct store_sample){
			.t_ms = bytes_be64_get(q), .entries = bytes_be64_get(q + 8),
			.dirs = bytes_be64_get(q + 16), .files = bytes_be64_get(q + 24),
			.bytes = bytes_be64_get(q + 32), .errors = bytes_be64_get(q + 40)};
	}
	*n = cnt;
out:
	mdb_txn_abort(txn);
	return rc;
}
