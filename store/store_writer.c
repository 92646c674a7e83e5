/* store_writer.c: batches, the submission queue and the writer thread that commits it. */
#include "store/store_impl.h"

#include <errno.h>
#include <time.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_codec.h"

/*
 * Design (see also the essay atop store.c).
 *
 * Submitters (scan workers, the job manager) append items to one FIFO under s->mu; the writer
 * takes the whole FIFO at once, writes it outside the lock, then publishes done_seq (the
 * sequence number of the last item it finished) and wakes waiters. pending_bytes counts items
 * until the writer retired them, running ones included, so a slow disk makes submitters wait
 * instead of growing memory.
 *
 * A run of data items (directories, errors) is written in one transaction. Scan records are
 * written alone in their own transaction, after the data queued before them, so that a
 * store_scan_update() is ordered after its scan's batches and a finishing one can sync first.
 */

struct store_batch {
	unsigned char *buf;
	size_t len, cap, count;
	/** Where the last name added starts in buf, and its length (for the order check). */
	size_t last_off, last_len;
};

int store_batch_create(struct store_batch **out, struct errbuf *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return errbuf_errno(err, ENOMEM, "creating a store batch");
	return 0;
}

void store_batch_destroy(struct store_batch *b)
{
	if (b) {
		free(b->buf);
		free(b);
	}
}

size_t store_batch_count(const struct store_batch *b)
{
	return b->count;
}

/* Empties a batch, giving up its buffer. */
static void store_batch_reset(struct store_batch *b)
{
	b->buf = NULL;
	b->len = b->cap = b->count = 0;
	b->last_off = b->last_len = 0;
}

int store_batch_add(struct store_batch *b, const struct entry *e, struct errbuf *err)
{
	if (e->name_len < 1 || e->name_len > 255 || memchr(e->name, '/', e->name_len) ||
	    memchr(e->name, '\0', e->name_len))
		return errbuf_set(err, -EINVAL, "adding an entry to a store batch: invalid name "
						"(%zu bytes)", e->name_len);
	if (e->target_len > 65536)
		return errbuf_set(err, -EINVAL, "adding %.*s to a store batch: symlink target of "
						"%zu bytes", (int)e->name_len, e->name, e->target_len);
	if (b->count > 0 && store_name_cmp((const char *)b->buf + b->last_off, b->last_len,
					   e->name, e->name_len) >= 0)
		return errbuf_set(err, -EINVAL,
				  "adding %.*s to a store batch: entries must come in bytewise "
				  "order of names, and it follows %.*s",
				  (int)e->name_len, e->name, (int)b->last_len,
				  (const char *)b->buf + b->last_off);
	/* A name of <= 255 bytes has a 2-byte varint; a value < 2 MiB a 3-byte one at most. */
	size_t need = 2 + e->name_len + 3 + store_entry_bound(e);
	if (b->cap - b->len < need) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->len < need)
			cap *= 2;
		unsigned char *buf = realloc(b->buf, cap);
		if (!buf)
			return errbuf_errno(err, ENOMEM, "adding %.*s to a store batch",
					    (int)e->name_len, e->name);
		b->buf = buf;
		b->cap = cap;
	}
	unsigned char *p = b->buf + b->len;
	p += bytes_varint_put(p, e->name_len);
	b->last_off = (size_t)(p - b->buf);
	b->last_len = e->name_len;
	memcpy(p, e->name, e->name_len);
	p += e->name_len;
	/* Encode past room for the longest length prefix, then close the gap. */
	size_t vlen = store_entry_encode(e, p + 3);
	size_t n = bytes_varint_put(p, vlen);
	if (n < 3)
		memmove(p + n, p + 3, vlen);
	b->len = (size_t)(p + n + vlen - b->buf);
	b->count++;
	return 0;
}

size_t store_batch_bytes(const struct store_batch *b)
{
	return b ? b->len : 0;
}

int store_batch_reserve(struct store_batch *b, size_t extra, struct errbuf *err)
{
	if (b->cap - b->len >= extra)
		return 0;
	unsigned char *buf = realloc(b->buf, b->len + extra);
	if (!buf)
		return errbuf_errno(err, ENOMEM, "reserving %zu bytes in a store batch", extra);
	b->buf = buf;
	b->cap = b->len + extra;
	return 0;
}

int store_batch_append(struct store_batch *dst, struct store_batch *src, struct errbuf *err)
{
	if (src->count == 0)
		return 0;
	/* The first name of src sits after its 2-byte-at-most length varint. */
	uint64_t first_len = 0;
	const unsigned char *name = src->buf;
	int bad = bytes_varint_get(&name, src->buf + src->len, &first_len);
	if (dst->count > 0 && (bad < 0 ||
	    store_name_cmp((const char *)dst->buf + dst->last_off, dst->last_len,
			   (const char *)name, (size_t)first_len) >= 0))
		return errbuf_set(err, -EINVAL, "appending store batches: names out of order");
	if (dst->cap - dst->len < src->len) {
		size_t cap = dst->cap ? dst->cap : 4096;
		while (cap - dst->len < src->len)
			cap *= 2;
		unsigned char *buf = realloc(dst->buf, cap);
		if (!buf)
			return errbuf_errno(err, ENOMEM, "appending store batches of %zu entries",
					    src->count);
		dst->buf = buf;
		dst->cap = cap;
	}
	memcpy(dst->buf + dst->len, src->buf, src->len);
	dst->last_off = dst->len + src->last_off;
	dst->last_len = src->last_len;
	dst->len += src->len;
	dst->count += src->count;
	src->len = src->count = 0;
	src->last_off = src->last_len = 0;
	return 0;
}

/* The error that stops writes for a scan, under s->mu; 0 when it may write. */
static int store_scan_blocked(struct store *s, uint64_t scan_id, struct errbuf *err)
{
	struct store_scan_state *st = store_state_get(s, scan_id, false);
	if (!st)
		return 0;
	if (st->err_code)
		return errbuf_set(err, st->err_code, "%s", st->err_msg ? st->err_msg : "write failed");
	if (st->deleted)
		return errbuf_set(err, -ENOENT, "writing to scan %" PRIu64 ": it was deleted",
				  scan_id);
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
	it->cost = sizeof(*it) + name_len + b->cap;

	pthread_mutex_lock(&s->mu);
	store_wait_room(s);
	int rc = store_scan_blocked(s, scan_id, err);
	if (rc == 0 && s->stop)
		rc = errbuf_set(err, -ESHUTDOWN,
				"storing a directory of scan %" PRIu64 ": the store is closing",
				scan_id);
	if (rc < 0) {
		pthread_mutex_unlock(&s->mu);
		free(it);
		/* The scan stops anyway; an empty batch keeps the contract "b comes back empty". */
		free(b->buf);
		store_batch_reset(b);
		return rc;
	}
	it->buf = b->buf;
	it->buf_len = b->len;
	it->count = b->count;
	it->dir_id = *dir_id = s->next_dir_id++;
	store_enqueue(s, it);
	pthread_mutex_unlock(&s->mu);
	store_batch_reset(b);
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

	/* Sequence numbers continue those already stored (a store reopened mid-life). */
	pthread_mutex_lock(&s->mu);
	struct store_scan_state *st = store_state_get(s, scan_id, true);
	bool known = st && st->err_seq_known;
	pthread_mutex_unlock(&s->mu);
	uint64_t last = 0;
	int rc = 0;
	if (!known && (rc = store_last_error_seq(s, scan_id, &last, err)) < 0)
		goto fail;

	pthread_mutex_lock(&s->mu);
	store_wait_room(s);
	if ((rc = store_scan_blocked(s, scan_id, err)) < 0 ||
	    !(st = store_state_get(s, scan_id, true))) {
		pthread_mutex_unlock(&s->mu);
		if (rc == 0)
			rc = errbuf_errno(err, ENOMEM, "recording an error of scan %" PRIu64,
					  scan_id);
		goto fail;
	}
	if (!st->err_seq_known) {
		st->err_seq = last;
		st->err_seq_known = true;
	}
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
	struct store_scan_state *st = store_state_get(s, scan_id, false);
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

/* ---------------------------------------------------------------- the writer thread */

/* Counts a transaction's outcome; a failed one also fails `scan_id` when not 0. */
/*
 * Counts a commit (e NULL) or a failure. Only a commit of entries, or a delete, proves the store
 * writes again (`proves`): a scan record is a few bytes that still fit in a full map, and the
 * job manager writes one right after a failure.
 */
static void store_note_commit(struct store *s, uint64_t scan_id, const struct errbuf *e,
			      bool proves)
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
	struct store_scan_state *st = scan_id ? store_state_get(s, scan_id, true) : NULL;
	if (st && !st->err_code) {
		st->err_code = e->code < 0 ? e->code : -EIO;
		st->err_msg = strdup(e->msg); /* NULL is handled: "write failed" */
	}
	pthread_mutex_unlock(&s->mu);
}

static void store_note(struct store *s, uint64_t scan_id, const struct errbuf *e)
{
	store_note_commit(s, scan_id, e, true);
}

void store_mark_writable(struct store *s)
{
	store_note_commit(s, 0, NULL, true);
}

/* Puts a key that should sort after all others; falls back to a plain insert when it does not
 * (runs of two scans retried apart), and reports a true duplicate as MDB_KEYEXIST. */
static int store_put_sorted(MDB_cursor *c, MDB_val *k, MDB_val *v)
{
	int rc = mdb_cursor_put(c, k, v, MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		rc = mdb_cursor_put(c, k, v, MDB_NOOVERWRITE);
	return rc;
}

/* Writes the data items in [first, end) not skipped, of scan `only` (0: all), in one txn. */
static int store_write_txn(struct store *s, struct store_item *first, struct store_item *end,
			   uint64_t only, uint64_t msg_scan, struct errbuf *err)
{
	char who[64];
	if (msg_scan)
		snprintf(who, sizeof(who), "scan %" PRIu64, msg_scan);
	else
		snprintf(who, sizeof(who), "several scans");
	MDB_txn *txn;
	MDB_cursor *ce = NULL, *cd = NULL;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return store_mdb_err(s, err, rc, "starting a write transaction for %s on %s", who,
				     s->path);
	if ((rc = mdb_cursor_open(txn, s->db_entries, &ce)) ||
	    (rc = mdb_cursor_open(txn, s->db_dirs, &cd))) {
		rc = store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
		goto fail;
	}
	uint64_t max_dir = 0;
	unsigned char key[8 + 255], val[20 + 255], lkey[8 + 255];
	for (struct store_item *it = first; it != end; it = it->next) {
		if (it->skip || (only && it->scan_id != only))
			continue;
		if (it->kind == STORE_ITEM_ERROR) {
			unsigned char ekey[16];
			bytes_be64_put(ekey, it->scan_id);
			bytes_be64_put(ekey + 8, it->dir_id);
			MDB_val k = {16, ekey}, v = {it->data_len, it->data};
			if ((rc = mdb_put(txn, s->db_errors, &k, &v, 0))) {
				rc = store_mdb_err(s, err, rc, "writing errors of %s to %s", who,
						   s->path);
				goto fail;
			}
			continue;
		}
		bytes_be64_put(key, it->dir_id);
		MDB_val k = {8, key}, v = {0, val};
		v.mv_size = store_dir_encode(it->scan_id, it->parent, (const char *)it->data,
					     it->data_len, val);
		if ((rc = store_put_sorted(cd, &k, &v))) {
			rc = store_mdb_err(s, err, rc, "writing directory %" PRIu64 " of %s to %s",
					   it->dir_id, who, s->path);
			goto fail;
		}
		/* The link: (parent, name), or (0, scan id) for the root. */
		bytes_be64_put(lkey, it->parent);
		if (it->parent) {
			memcpy(lkey + 8, it->data, it->data_len);
			k = (MDB_val){8 + it->data_len, lkey};
		} else {
			bytes_be64_put(lkey + 8, it->scan_id);
			k = (MDB_val){16, lkey};
		}
		v = (MDB_val){8, key};
		if ((rc = mdb_put(txn, s->db_links, &k, &v, MDB_NOOVERWRITE))) {
			rc = store_mdb_err(s, err, rc,
					   "linking directory %.*s (under %" PRIu64 ") of %s in %s",
					   (int)it->data_len, (const char *)it->data, it->parent,
					   who, s->path);
			goto fail;
		}
		const unsigned char *p = it->buf, *bend = p + it->buf_len;
		while (p < bend) {
			uint64_t nlen, vlen;
			if (bytes_varint_get(&p, bend, &nlen) < 0 || nlen > 255 ||
			    nlen > (uint64_t)(bend - p)) {
				rc = errbuf_set(err, -EIO, "writing %s: corrupt batch", who);
				goto fail;
			}
			memcpy(key + 8, p, nlen);
			p += nlen;
			if (bytes_varint_get(&p, bend, &vlen) < 0 || vlen > (uint64_t)(bend - p)) {
				rc = errbuf_set(err, -EIO, "writing %s: corrupt batch", who);
				goto fail;
			}
			MDB_val ek = {8 + nlen, key}, ev = {vlen, (void *)p};
			p += vlen;
			if ((rc = store_put_sorted(ce, &ek, &ev))) {
				rc = store_mdb_err(s, err, rc, "writing entries of %s to %s", who,
						   s->path);
				goto fail;
			}
		}
		if (it->dir_id > max_dir)
			max_dir = it->dir_id;
	}
	if (max_dir && (rc = store_meta_raise(s, txn, STORE_META_NEXT_DIR, max_dir + 1, err)) < 0) {
		errbuf_prefix(err, "storing %s", who);
		goto fail;
	}
	mdb_cursor_close(ce);
	mdb_cursor_close(cd);
	if ((rc = mdb_txn_commit(txn)))
		return store_mdb_err(s, err, rc, "committing entries of %s to %s", who, s->path);
	return 0;
fail:
	if (ce)
		mdb_cursor_close(ce);
	if (cd)
		mdb_cursor_close(cd);
	mdb_txn_abort(txn);
	return rc < 0 ? rc : -EIO;
}

/* Writes a run of directories and errors: all in one txn, or each scan alone if that fails. */
static void store_write_data(struct store *s, struct store_item *first, struct store_item *end)
{
	uint64_t one = 0;
	bool many = false;
	pthread_mutex_lock(&s->mu);
	for (struct store_item *it = first; it != end; it = it->next) {
		struct store_scan_state *st = store_state_get(s, it->scan_id, false);
		it->skip = st && (st->err_code || st->deleted);
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
		store_note(s, 0, NULL);
		return;
	}
	store_note(s, many ? 0 : one, &e);
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
		store_note(s, scan, rc < 0 ? &e : NULL);
		for (; it != end; it = it->next)
			if (it->scan_id == scan)
				it->skip = true;
	}
}

/* Writes a scan record alone; a finishing one syncs the data before and itself after. */
static void store_write_scan(struct store *s, struct store_item *it)
{
	struct store_wait *w = it->wait;
	struct errbuf e;
	errbuf_clear(&e);
	unsigned char key[8];
	bytes_be64_put(key, it->scan_id);
	MDB_val k = {8, key}, v = {it->data_len, it->data}, old;
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
	if (!(it->flags & STORE_ITEM_CREATE)) {
		rc = mdb_get(txn, s->db_scans, &k, &old);
		if (rc == MDB_NOTFOUND) {
			rc = errbuf_set(&e, -ENOENT, "updating scan %" PRIu64 ": no such scan",
					it->scan_id);
			goto out;
		}
	}
	if (rc || (rc = mdb_put(txn, s->db_scans, &k, &v, 0))) {
		rc = store_mdb_err(s, &e, rc, "writing scan %" PRIu64 " to %s", it->scan_id,
				   s->path);
		goto out;
	}
	if ((it->flags & STORE_ITEM_CREATE) &&
	    (rc = store_meta_raise(s, txn, STORE_META_NEXT_SCAN, it->scan_id + 1, &e)) < 0)
		goto out;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc) {
		rc = store_mdb_err(s, &e, rc, "committing scan %" PRIu64 " to %s", it->scan_id,
				   s->path);
		goto out;
	}
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

/* Writes a list taken from the queue and frees it; returns its last seq and its cost. */
static void store_writer_run(struct store *s, struct store_item *list, uint64_t *last_seq,
			     size_t *cost)
{
	struct store_item *it = list;
	while (it) {
		struct store_item *end = it->next;
		if (it->kind == STORE_ITEM_SCAN) {
			store_write_scan(s, it);
		} else {
			while (end && end->kind != STORE_ITEM_SCAN)
				end = end->next;
			store_write_data(s, it, end);
		}
		while (it != end) {
			struct store_item *next = it->next;
			*last_seq = it->seq;
			*cost += it->cost;
			free(it->buf);
			free(it);
			it = next;
		}
	}
}

/*
 * Under s->mu, with work pending: while little is pending and nobody waits for a commit, gives
 * the workers up to 2 ms to add more. A tree of many small directories (the deep chain has
 * 1,303) then costs a few commits, each with its fdatasync, instead of one per wake-up.
 */
static void store_writer_coalesce(struct store *s)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += STORE_COALESCE_NS;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
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
		uint64_t last_seq = 0;
		size_t cost = 0;
		store_writer_run(s, list, &last_seq, &cost);
		pthread_mutex_lock(&s->mu);
		s->pending_bytes -= cost;
		s->done_seq = last_seq;
		pthread_cond_broadcast(&s->done_cond);
		pthread_cond_broadcast(&s->space_cond);
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
