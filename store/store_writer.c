/* store_writer.c: the submission queue and the writer thread that commits it. */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/store_codec.h"

/*
 * Design (see also the essay atop store.c).
 *
 * Submitters (scan workers, the job manager) append items to one FIFO under s->mu; the writer
 * takes the whole FIFO at once, writes it outside the lock, then, under the lock again, retires
 * it: publishes done_seq (the sequence number of the last item it finished), releases the items'
 * scan states and wakes waiters. pending_bytes counts items until the writer retired them,
 * running ones included, so a slow disk makes submitters wait instead of growing memory.
 *
 * A run of data items (directories, errors) is written in one transaction. Scan records are
 * written alone in their own transaction, after the data queued before them, so that a
 * store_scan_update() is ordered after its scan's batches and a finishing one can sync first.
 *
 * Per-scan state (store_state.c) is found by a hash probe when an item is submitted, and the item
 * keeps a pointer to it (its `pending` count keeps the state alive): the writer probes only for a
 * failed transaction and for a record that finishes its scan. A scan's first submission in this
 * process checks, in a read transaction, that the scan exists and is not tombstoned; the writer
 * checks it again inside each write transaction (a tombstone may have been committed since), and
 * drops the items of a scan that is gone.
 */

/* The error that stops writes for a scan, under s->mu; 0 when it may write. */
static int store_scan_blocked(struct store *s, const struct store_scan_state *st,
			      struct errbuf *err)
{
	if (st->err_code)
		return errbuf_set(err, st->err_code, "%s", st->err_msg ? st->err_msg : "write failed");
	if (st->deleted)
		return errbuf_set(err, -ENOENT, "writing to scan %" PRIu64 ": it was deleted",
				  st->scan_id);
	if (s->stop)
		return errbuf_set(err, -ESHUTDOWN, "writing to scan %" PRIu64 ": the store is closing",
				  st->scan_id);
	return 0;
}

/* Appends an item to the queue; under s->mu, after waiting for room. */
static void store_enqueue(struct store *s, struct store_item *it)
{
	bool was_empty = !s->head;
	size_t before = s->pending_bytes;
	it->seq = ++s->submit_seq;
	it->next = NULL;
	*s->tail = it;
	s->tail = &it->next;
	s->pending_bytes += it->cost;
	if (it->st)
		it->st->pending++;
	/*
	 * Wake the writer for the first item, or when enough piled up to end its lingering; not for
	 * every directory, which cost a context switch each (perf: 13% of a kernel-like scan).
	 */
	if (was_empty || (before < STORE_COALESCE_BYTES && s->pending_bytes >= STORE_COALESCE_BYTES))
		pthread_cond_signal(&s->work_cond);
}

/* Waits while the queue is over its bound; under s->mu. */
static void store_wait_room(struct store *s)
{
	while (s->pending_bytes >= STORE_PENDING_MAX && !s->stop)
		pthread_cond_wait(&s->space_cond, &s->mu);
}

/* Whether scan `scan_id` may be written: it exists and has no tombstone. Not under s->mu. */
static int store_scan_writable(struct store *s, uint64_t scan_id, struct errbuf *err)
{
	MDB_txn *txn;
	MDB_val v;
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	rc = store_scan_lookup(s, txn, scan_id, &v, err);
	mdb_txn_abort(txn);
	if (rc == -ENOENT)
		return errbuf_set(err, -ENOENT, "writing to scan %" PRIu64 ": no such scan (never "
				  "created, or deleted)", scan_id);
	return rc;
}

/*
 * Takes s->mu, waits for room, and finds the state of `scan_id`, making it (after checking that
 * the scan may be written) when this is the scan's first submission. On success returns 0 with
 * s->mu held and *out set; on failure, with s->mu released.
 */
static int store_state_acquire(struct store *s, uint64_t scan_id, struct store_scan_state **out,
			       struct errbuf *err)
{
	pthread_mutex_lock(&s->mu);
	store_wait_room(s);
	struct store_scan_state *st = store_state_find(s, scan_id);
	if (!st) {
		pthread_mutex_unlock(&s->mu);
		int rc = store_scan_writable(s, scan_id, err);
		if (rc < 0)
			return rc;
		pthread_mutex_lock(&s->mu);
		store_wait_room(s);
		if (!(st = store_state_add(s, scan_id))) {
			pthread_mutex_unlock(&s->mu);
			return errbuf_errno(err, ENOMEM, "writing to scan %" PRIu64, scan_id);
		}
	}
	int rc = store_scan_blocked(s, st, err);
	if (rc < 0) {
		pthread_mutex_unlock(&s->mu);
		return rc;
	}
	*out = st;
	return 0;
}

int store_put_dir(struct store *s, uint64_t scan_id, uint64_t parent_dir_id, const char *name,
		  size_t name_len, struct store_batch *b, uint64_t *dir_id, struct errbuf *err)
{
	if (parent_dir_id == 0 ? name_len != 0 : (name_len < 1 || name_len > 255))
		return errbuf_set(err, -EINVAL,
				  "storing a directory of scan %" PRIu64 ": invalid name (%zu bytes)",
				  scan_id, name_len);
	struct store_item *it = malloc(sizeof(*it) + name_len);
	if (!it)
		return errbuf_errno(err, ENOMEM, "storing %.*s of scan %" PRIu64, (int)name_len,
				    name, scan_id);
	memset(it, 0, sizeof(*it));
	it->kind = STORE_ITEM_DIR;
	it->scan_id = scan_id;
	it->parent = parent_dir_id;
	it->data_len = name_len;
	memcpy(it->data, name, name_len);
	size_t cap;
	struct store_dir_note note;
	/* Taken either way: the scan stops on a failure, and "b comes back empty" holds. */
	it->buf = store_batch_take(b, &it->buf_len, &cap, &note);
	it->count = note.entries;
	it->cost = sizeof(*it) + name_len + cap;

	int rc = store_state_acquire(s, scan_id, &it->st, err);
	if (rc < 0) {
		free(it->buf);
		free(it);
		return rc;
	}
	it->dir_id = *dir_id = s->next_dir_id++;
	note.dir = it->dir_id;
	note.parent = parent_dir_id;
	store_state_note(it->st, &note);
	store_enqueue(s, it);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int store_writer_put_rows(struct store *s, struct store_item *it, struct errbuf *err)
{
	int rc = store_state_acquire(s, it->scan_id, &it->st, err);
	if (rc < 0) {
		free(it->buf);
		free(it);
		return rc;
	}
	store_enqueue(s, it);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* The last sequence number of the errors of a scan already in the store (0: none). */
static int store_last_error_seq(struct store *s, uint64_t scan_id, uint64_t *out,
				struct errbuf *err)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	unsigned char key[8];
	MDB_val k = {8, key}, v;
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->db_errors, &cur))) {
		mdb_txn_abort(txn);
		return store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
	}
	bytes_be64_put(key, scan_id + 1);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
	*out = 0;
	if (rc == 0 && k.mv_size == 16 && bytes_be64_get(k.mv_data) == scan_id)
		*out = bytes_be64_get((const unsigned char *)k.mv_data + 8);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(s, err, rc, "reading the errors of scan %" PRIu64 " from %s",
				     scan_id, s->path);
	return 0;
}

int store_put_error(struct store *s, uint64_t scan_id, const char *path, size_t path_len,
		    const char *op, int errnum, struct errbuf *err)
{
	return store_put_error_detail(s, scan_id, path, path_len, op, errnum, NULL, err);
}

int store_put_error_detail(struct store *s, uint64_t scan_id, const char *path, size_t path_len,
			   const char *op, int errnum, const char *detail, struct errbuf *err)
{
	size_t op_len = op ? strlen(op) : 0;
	size_t detail_len = detail && detail[0] ? strlen(detail) : 0;
	/* The detail follows the operation after a NUL byte (see store.h). */
	size_t ops_len = op_len + (detail_len ? 1 + detail_len : 0);
	struct store_item *it = malloc(sizeof(*it) + 20 + ops_len + path_len);
	char *ops = malloc(ops_len + 1);
	if (!it || !ops) {
		free(it);
		free(ops);
		return errbuf_errno(err, ENOMEM, "recording an error of scan %" PRIu64, scan_id);
	}
	memcpy(ops, op ? op : "", op_len);
	if (detail_len) {
		ops[op_len] = '\0';
		memcpy(ops + op_len + 1, detail, detail_len);
	}
	memset(it, 0, sizeof(*it));
	it->kind = STORE_ITEM_ERROR;
	it->scan_id = scan_id;
	it->data_len = store_error_encode(errnum, ops, ops_len, path, path_len, it->data);
	free(ops);
	it->cost = sizeof(*it) + it->data_len;

	/*
	 * Sequence numbers continue those already stored (a store reopened mid-life). A state that
	 * does not know them yet has no error of its scan queued (states outlive their items), so
	 * the last one stored is the last one handed out.
	 */
	struct store_scan_state *st;
	uint64_t last = 0;
	bool have_last = false;
	int rc;
	for (;;) {
		if ((rc = store_state_acquire(s, scan_id, &st, err)) < 0)
			goto fail;
		if (st->err_seq_known || have_last)
			break;
		pthread_mutex_unlock(&s->mu);
		if ((rc = store_last_error_seq(s, scan_id, &last, err)) < 0)
			goto fail;
		have_last = true;
	}
	if (!st->err_seq_known) {
		st->err_seq = last;
		st->err_seq_known = true;
	}
	it->st = st;
	it->dir_id = ++st->err_seq;
	store_enqueue(s, it);
	pthread_mutex_unlock(&s->mu);
	return 0;
fail:
	free(it);
	return rc;
}

/* Waits, under s->mu, until item `seq` is committed; tells the writer not to linger meanwhile. */
static void store_wait_done(struct store *s, uint64_t seq)
{
	s->waiters++;
	pthread_cond_signal(&s->work_cond);
	while (s->done_seq < seq)
		pthread_cond_wait(&s->done_cond, &s->mu);
	s->waiters--;
}

int store_flush(struct store *s, uint64_t scan_id, struct errbuf *err)
{
	pthread_mutex_lock(&s->mu);
	uint64_t target = s->submit_seq;
	store_wait_done(s, target);
	struct store_scan_state *st = store_state_find(s, scan_id);
	int rc = 0;
	if (st && st->err_code)
		rc = errbuf_set(err, st->err_code, "%s", st->err_msg ? st->err_msg : "write failed");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int store_writer_submit(struct store *s, struct store_item *it, struct store_wait *wait,
			struct errbuf *err)
{
	it->wait = wait;
	it->cost = sizeof(*it) + it->data_len;
	pthread_mutex_lock(&s->mu);
	store_wait_room(s);
	if (s->stop) {
		pthread_mutex_unlock(&s->mu);
		free(it);
		return errbuf_set(err, -ESHUTDOWN, "writing to %s: the store is closing", s->path);
	}
	store_enqueue(s, it);
	uint64_t seq = it->seq; /* `it` is the writer's from here on */
	if (wait)
		store_wait_done(s, seq);
	pthread_mutex_unlock(&s->mu);
	if (wait && wait->rc < 0) {
		if (err)
			*err = wait->err;
		return wait->rc;
	}
	return 0;
}

int store_writer_submit_many(struct store *s, struct store_item **items, struct store_wait *waits,
			     size_t n, struct errbuf *err)
{
	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	if (s->stop) {
		pthread_mutex_unlock(&s->mu);
		for (size_t i = 0; i < n; i++)
			free(items[i]);
		return errbuf_set(err, -ESHUTDOWN, "writing to %s: the store is closing", s->path);
	}
	uint64_t seq = 0;
	for (size_t i = 0; i < n; i++) {
		store_wait_room(s);
		items[i]->wait = &waits[i];
		items[i]->cost = sizeof(*items[i]) + items[i]->data_len;
		store_enqueue(s, items[i]);
		seq = items[i]->seq; /* the writer's from here on */
	}
	store_wait_done(s, seq);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* ---------------------------------------------------------------- the writer thread */

/* Puts a key that should sort after all others; falls back to a plain insert when it does not
 * (runs of two scans retried apart), and reports a true duplicate as MDB_KEYEXIST. */
static int store_put_sorted(MDB_cursor *c, MDB_val *k, MDB_val *v)
{
	int rc = mdb_cursor_put(c, k, v, MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		rc = mdb_cursor_put(c, k, v, MDB_NOOVERWRITE);
	return rc;
}

/* What one data transaction writes with: its cursors, and how to name its scans in messages. */
struct store_data_txn {
	MDB_txn *txn;
	MDB_cursor *entries, *dirs;
	char who[64];
};

/*
 * Marks the items in [first, end) of scans that are gone (no record, or a tombstone) in the
 * transaction: they are dropped, not written. Items of one scan mostly come in runs, so the
 * answer for the previous scan is reused.
 */
static int store_drop_gone(struct store *s, MDB_txn *txn, struct store_item *first,
			   struct store_item *end, uint64_t only, struct errbuf *err)
{
	uint64_t last = 0;
	bool last_gone = false;
	for (struct store_item *it = first; it != end; it = it->next) {
		if (it->skip || (only && it->scan_id != only))
			continue;
		if (it->scan_id != last) {
			MDB_val v;
			int rc = store_scan_lookup(s, txn, it->scan_id, &v, err);
			if (rc < 0 && rc != -ENOENT)
				return rc;
			last = it->scan_id;
			last_gone = rc == -ENOENT;
		}
		if (last_gone)
			it->skip = it->gone = true;
	}
	return 0;
}

static int store_write_error_item(struct store *s, struct store_data_txn *t,
				  const struct store_item *it, struct errbuf *err)
{
	unsigned char ekey[16];
	bytes_be64_put(ekey, it->scan_id);
	bytes_be64_put(ekey + 8, it->dir_id);
	MDB_val k = {16, ekey}, v = {it->data_len, (void *)it->data};
	int rc = mdb_put(t->txn, s->db_errors, &k, &v, 0);
	if (rc)
		return store_mdb_err(s, err, rc, "writing errors of %s to %s", t->who, s->path);
	return 0;
}

/* The batch's entries, under the directory's dir_id (already in key[0..8)). */
static int store_write_entries(struct store *s, struct store_data_txn *t,
			       const struct store_item *it, unsigned char *key, struct errbuf *err)
{
	const unsigned char *p = it->buf, *bend = p + it->buf_len;
	while (p < bend) {
		uint64_t nlen, vlen;
		if (bytes_varint_get(&p, bend, &nlen) < 0 || nlen > 255 ||
		    nlen > (uint64_t)(bend - p))
			return errbuf_set(err, -EIO, "writing %s: corrupt batch", t->who);
		memcpy(key + 8, p, nlen);
		p += nlen;
		if (bytes_varint_get(&p, bend, &vlen) < 0 || vlen > (uint64_t)(bend - p))
			return errbuf_set(err, -EIO, "writing %s: corrupt batch", t->who);
		MDB_val ek = {8 + nlen, key}, ev = {vlen, (void *)p};
		p += vlen;
		int rc = store_put_sorted(t->entries, &ek, &ev);
		if (rc)
			return store_mdb_err(s, err, rc, "writing entries of %s to %s", t->who,
					     s->path);
	}
	return 0;
}

/* A directory: its dirs row, its link from the parent (or from (0, scan) for a root), entries. */
static int store_write_dir_item(struct store *s, struct store_data_txn *t,
				const struct store_item *it, struct errbuf *err)
{
	unsigned char key[8 + 255], val[20 + 255], lkey[8 + 255];
	bytes_be64_put(key, it->dir_id);
	MDB_val k = {8, key}, v = {0, val};
	v.mv_size = store_dir_encode(it->scan_id, it->parent, (const char *)it->data, it->data_len,
				     val);
	int rc = store_put_sorted(t->dirs, &k, &v);
	if (rc)
		return store_mdb_err(s, err, rc, "writing directory %" PRIu64 " of %s to %s",
				     it->dir_id, t->who, s->path);
	bytes_be64_put(lkey, it->parent);
	if (it->parent) {
		memcpy(lkey + 8, it->data, it->data_len);
		k = (MDB_val){8 + it->data_len, lkey};
	} else {
		bytes_be64_put(lkey + 8, it->scan_id);
		k = (MDB_val){16, lkey};
	}
	v = (MDB_val){8, key};
	if ((rc = mdb_put(t->txn, s->db_links, &k, &v, MDB_NOOVERWRITE)))
		return store_mdb_err(s, err, rc,
				     "linking directory %.*s (under %" PRIu64 ") of %s in %s",
				     (int)it->data_len, (const char *)it->data, it->parent, t->who,
				     s->path);
	return store_write_entries(s, t, it, key, err);
}

/* Writes the items of [first, end) not skipped, of scan `only` (0: all), into t->txn. */
static int store_write_items(struct store *s, struct store_data_txn *t, struct store_item *first,
			     struct store_item *end, uint64_t only, struct errbuf *err)
{
	uint64_t max_dir = 0;
	int rc = store_drop_gone(s, t->txn, first, end, only, err);
	for (struct store_item *it = first; rc == 0 && it != end; it = it->next) {
		if (it->skip || (only && it->scan_id != only))
			continue;
		if (it->kind == STORE_ITEM_ERROR) {
			rc = store_write_error_item(s, t, it, err);
			continue;
		}
		if (it->kind == STORE_ITEM_SKIPS) {
			rc = store_skip_write_item(s, t->txn, it, err);
			continue;
		}
		rc = store_write_dir_item(s, t, it, err);
		if (it->dir_id > max_dir)
			max_dir = it->dir_id;
	}
	if (rc == 0 && max_dir &&
	    (rc = store_meta_raise(s, t->txn, STORE_META_NEXT_DIR, max_dir + 1, err)) < 0)
		errbuf_prefix(err, "storing %s", t->who);
	return rc;
}

/*
 * Whether scan data written in `txn` still fits the user's map. LMDB's map is larger by the
 * reserve (STORE_RESERVE), kept for records, tombstones and purges: without it, a map filled by
 * scan data could leave no page to delete that data with.
 */
static int store_within_map(struct store *s, MDB_txn *txn, const char *who, struct errbuf *err)
{
	uint64_t live;
	int rc = store_live_bytes(s, txn, &live, err);
	if (rc < 0 || live <= s->map_size)
		return rc;
	return store_mdb_err(s, err, MDB_MAP_FULL, "committing entries of %s to %s", who, s->path);
}

/* Writes the data items in [first, end) not skipped, of scan `only` (0: all), in one txn. */
static int store_write_txn(struct store *s, struct store_item *first, struct store_item *end,
			   uint64_t only, uint64_t msg_scan, struct errbuf *err)
{
	struct store_data_txn t = {0};
	if (msg_scan)
		snprintf(t.who, sizeof(t.who), "scan %" PRIu64, msg_scan);
	else
		snprintf(t.who, sizeof(t.who), "several scans");
	int rc = mdb_txn_begin(s->env, NULL, 0, &t.txn);
	if (rc)
		return store_mdb_err(s, err, rc, "starting a write transaction for %s on %s", t.who,
				     s->path);
	if ((rc = mdb_cursor_open(t.txn, s->db_entries, &t.entries)) ||
	    (rc = mdb_cursor_open(t.txn, s->db_dirs, &t.dirs)))
		rc = store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
	else
		rc = store_write_items(s, &t, first, end, only, err);
	if (rc == 0)
		rc = store_within_map(s, t.txn, t.who, err);
	if (t.entries)
		mdb_cursor_close(t.entries);
	if (t.dirs)
		mdb_cursor_close(t.dirs);
	if (rc) {
		mdb_txn_abort(t.txn);
		return rc < 0 ? rc : -EIO;
	}
	if ((rc = mdb_txn_commit(t.txn)))
		return store_mdb_err(s, err, rc, "committing entries of %s to %s", t.who, s->path);
	return 0;
}

/* Writes a run of directories and errors: all in one txn, or each scan alone if that fails. */
static void store_write_data(struct store *s, struct store_item *first, struct store_item *end)
{
	uint64_t one = 0;
	bool many = false;
	pthread_mutex_lock(&s->mu);
	for (struct store_item *it = first; it != end; it = it->next) {
		it->skip = it->st->err_code || it->st->deleted;
		if (it->skip)
			continue;
		if (!one)
			one = it->scan_id;
		else if (it->scan_id != one)
			many = true;
	}
	pthread_mutex_unlock(&s->mu);
	if (!one)
		return;
	struct errbuf e;
	errbuf_clear(&e);
	if (store_write_txn(s, first, end, 0, many ? 0 : one, &e) == 0) {
		store_note_commit(s, 0, NULL, true);
		return;
	}
	store_note_commit(s, many ? 0 : one, &e, true);
	if (!many)
		return;
	/* Find which scans fail: retry each alone. */
	for (;;) {
		struct store_item *it = first;
		while (it != end && it->skip)
			it = it->next;
		if (it == end)
			break;
		uint64_t scan = it->scan_id;
		errbuf_clear(&e);
		int rc = store_write_txn(s, first, end, scan, scan, &e);
		store_note_commit(s, scan, rc < 0 ? &e : NULL, true);
		for (; it != end; it = it->next)
			if (it->scan_id == scan)
				it->skip = true;
	}
}

/* Writes a scan record in `txn`: a new one, or an update of a live one. */
static int store_put_scan(struct store *s, MDB_txn *txn, struct store_item *it,
			  struct errbuf *err)
{
	unsigned char key[8];
	MDB_val k = store_scan_key(key, it->scan_id), v = {it->data_len, it->data}, old;
	int rc;
	if (!(it->flags & STORE_ITEM_CREATE) &&
	    (rc = store_scan_lookup(s, txn, it->scan_id, &old, err)) < 0) {
		if (rc == -ENOENT)
			errbuf_set(err, -ENOENT, "updating scan %" PRIu64 ": no such scan",
				   it->scan_id);
		return rc;
	}
	if ((rc = mdb_put(txn, s->db_scans, &k, &v, 0)))
		return store_mdb_err(s, err, rc, "writing scan %" PRIu64 " to %s", it->scan_id,
				     s->path);
	if (it->flags & STORE_ITEM_CREATE)
		return store_meta_raise(s, txn, STORE_META_NEXT_SCAN, it->scan_id + 1, err);
	return 0;
}

/* Writes a scan record alone; a finishing one syncs the data before and itself after. */
static void store_write_scan(struct store *s, struct store_item *it)
{
	struct store_wait *w = it->wait;
	struct errbuf e;
	errbuf_clear(&e);
	MDB_txn *txn = NULL;
	int rc = 0;
	if ((it->flags & STORE_ITEM_SYNC) && (rc = mdb_env_sync(s->env, 1))) {
		rc = store_mdb_err(s, &e, rc, "syncing %s before writing scan %" PRIu64, s->path,
				   it->scan_id);
		goto out;
	}
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn))) {
		txn = NULL;
		rc = store_mdb_err(s, &e, rc, "starting a write transaction on %s", s->path);
		goto out;
	}
	if ((rc = store_put_scan(s, txn, it, &e)) < 0)
		goto out;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc) {
		rc = store_mdb_err(s, &e, rc, "committing scan %" PRIu64 " to %s", it->scan_id,
				   s->path);
		goto out;
	}
	enum scan_state state;
	it->finishes = !(it->flags & STORE_ITEM_CREATE) &&
		       store_scan_peek_state(it->data, it->data_len, &state) == 0 &&
		       scan_state_finished(state);
	if ((it->flags & STORE_ITEM_SYNC) && (rc = mdb_env_sync(s->env, 1)))
		rc = store_mdb_err(s, &e, rc, "syncing %s after writing scan %" PRIu64, s->path,
				   it->scan_id);
out:
	if (txn)
		mdb_txn_abort(txn);
	/* A missing scan is the caller's mistake, not a failing store. */
	if (rc != -ENOENT)
		store_note_commit(s, 0, rc < 0 ? &e : NULL, false);
	if (w) {
		w->rc = rc < 0 ? rc : 0;
		w->err = e;
	}
}

/* Writes a list taken from the queue (the items stay the writer's until retired). */
/*
 * The records of a group, [it, end), in one transaction synced before and after once; when the
 * transaction fails (a record of a deleted scan, a full map), each is written alone, so that
 * only the failing ones fail.
 */
static void store_write_scans(struct store *s, struct store_item *it, struct store_item *end)
{
	struct errbuf e;
	errbuf_clear(&e);
	MDB_txn *txn = NULL;
	int rc = mdb_env_sync(s->env, 1);
	if (rc == 0 && (rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		txn = NULL;
	for (struct store_item *i = it; rc == 0 && i != end; i = i->next)
		rc = store_put_scan(s, txn, i, &e) < 0 ? -1 : 0;
	if (rc == 0) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (txn)
		mdb_txn_abort(txn);
	if (rc == 0)
		rc = mdb_env_sync(s->env, 1);
	if (rc != 0) {
		for (struct store_item *i = it; i != end; i = i->next)
			store_write_scan(s, i);
		return;
	}
	store_note_commit(s, 0, NULL, false);
	for (struct store_item *i = it; i != end; i = i->next) {
		enum scan_state state;
		i->finishes = !(i->flags & STORE_ITEM_CREATE) &&
			      store_scan_peek_state(i->data, i->data_len, &state) == 0 &&
			      scan_state_finished(state);
		if (i->wait) {
			i->wait->rc = 0;
			errbuf_clear(&i->wait->err);
		}
	}
}

static void store_writer_run(struct store *s, struct store_item *list)
{
	struct store_item *it = list;
	while (it) {
		struct store_item *end = it->next;
		if (it->kind == STORE_ITEM_SCAN && (it->flags & STORE_ITEM_GROUP)) {
			while (end && end->kind == STORE_ITEM_SCAN && (end->flags & STORE_ITEM_GROUP))
				end = end->next;
			store_write_scans(s, it, end);
		} else if (it->kind == STORE_ITEM_SCAN) {
			store_write_scan(s, it);
		} else {
			while (end && end->kind != STORE_ITEM_SCAN)
				end = end->next;
			store_write_data(s, it, end);
		}
		it = end;
	}
}

/*
 * Under s->mu: gives back the pending bytes of a written list, publishes its last seq, and
 * releases its scans' states (a scan found gone is marked deleted; a finished one is noted), so
 * that a state whose scan is over and has nothing queued is freed.
 */
static void store_writer_retire(struct store *s, struct store_item *list)
{
	for (struct store_item *it = list; it; it = it->next) {
		s->pending_bytes -= it->cost;
		s->done_seq = it->seq;
		struct store_scan_state *st = it->st;
		if (it->finishes)
			st = store_state_find(s, it->scan_id);
		if (!st)
			continue;
		if (it->st)
			st->pending--;
		if (it->gone)
			st->deleted = true;
		if (it->finishes)
			st->finished = true;
		store_state_prune(s, st);
	}
	pthread_cond_broadcast(&s->done_cond);
	pthread_cond_broadcast(&s->space_cond);
}

/*
 * Under s->mu, with work pending: while little is pending and nobody waits for a commit, gives
 * the workers up to 2 ms to add more. A tree of many small directories (the deep chain has
 * 1,303) then costs a few commits, each with its fdatasync, instead of one per wake-up.
 */
static void store_writer_coalesce(struct store *s)
{
	struct timespec until = clock_deadline(STORE_COALESCE_NS);
	while (!s->stop && s->waiters == 0 && s->pending_bytes < STORE_COALESCE_BYTES)
		if (pthread_cond_timedwait(&s->work_cond, &s->mu, &until) == ETIMEDOUT)
			break;
}

static void *store_writer_main(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->head && !s->stop)
			pthread_cond_wait(&s->work_cond, &s->mu);
		store_writer_coalesce(s);
		struct store_item *list = s->head;
		if (!list)
			break; /* stopping, and everything is written */
		s->head = NULL;
		s->tail = &s->head;
		pthread_mutex_unlock(&s->mu);
		store_writer_run(s, list);
		pthread_mutex_lock(&s->mu);
		store_writer_retire(s, list);
		pthread_mutex_unlock(&s->mu);
		while (list) {
			struct store_item *next = list->next;
			free(list->buf);
			free(list);
			list = next;
		}
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int store_writer_start(struct store *s, struct errbuf *err)
{
	int rc = pthread_create(&s->writer, NULL, store_writer_main, s);
	if (rc)
		return errbuf_errno(err, rc, "starting the writer thread of %s", s->path);
	pthread_setname_np(s->writer, "store-writer");
	s->writer_started = true;
	return 0;
}

void store_writer_stop(struct store *s)
{
	if (!s->mu_ready)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->work_cond);
	pthread_cond_broadcast(&s->space_cond);
	pthread_mutex_unlock(&s->mu);
	if (s->writer_started) {
		pthread_join(s->writer, NULL);
		s->writer_started = false;
	}
}
