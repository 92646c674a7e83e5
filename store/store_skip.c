/* store_skip.c: the paths a rule skipped, with the rule, in depth-first order (the skips table).
 *
 * Table "skips": BE64 scan id + the path's order key -> the record. The order key is the path
 * with each '/' written as a NUL byte: names hold no NUL, so memcmp order of the keys is the
 * depth-first order of the paths, siblings in bytewise order of names, as GET .../entries walks
 * them ("a/b" < "a/b.txt" < "a/c/x", where plain bytes would put "a/b.txt" first since '.' <
 * '/'). Keys stay short enough for a page token: a path longer than STORE_SKIP_KEY_PATH bytes is
 * keyed by its first STORE_SKIP_KEY_PATH bytes and the record's `seq` (BE64), so such paths keep
 * their place up to that length and, past it, the order they were recorded in.
 *
 * Value: type (1 byte), source (1 byte), varint line, varint length + source path, varint length
 * + pattern, then the path itself (the rest).
 *
 * Records come from scan workers in batches (struct store_skips, one per worker), go through the
 * store's one writer like directories do (STORE_ITEM_SKIPS), and are dropped with the scan by the
 * purge (store_purge.c). Stores made before this table get it, empty, at open.
 */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"

struct store_skips {
	unsigned char *buf;
	size_t len, cap, count;
};

int store_skips_create(struct store_skips **out, struct errbuf *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return errbuf_errno(err, ENOMEM, "allocating a batch of skip records");
	return 0;
}

void store_skips_destroy(struct store_skips *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b);
}

size_t store_skips_count(const struct store_skips *b)
{
	return b ? b->count : 0;
}

/* The order key of a record (see the top of the file) into `out`; returns its length. */
static size_t store_skip_key(const struct store_skip *rec, unsigned char *out)
{
	size_t n = rec->path_len <= STORE_SKIP_KEY_PATH ? rec->path_len : STORE_SKIP_KEY_PATH;
	for (size_t i = 0; i < n; i++)
		out[i] = rec->path[i] == '/' ? 0 : (unsigned char)rec->path[i];
	if (rec->path_len <= STORE_SKIP_KEY_PATH)
		return n;
	bytes_be64_put(out + n, rec->seq);
	return n + 8;
}

int store_skips_add(struct store_skips *b, const struct store_skip *rec, struct errbuf *err)
{
	size_t vlen = 2 + 10 + 10 + rec->source_len + 10 + rec->pattern_len + rec->path_len;
	size_t need = b->len + 10 + STORE_SKIP_POS_MAX + 10 + vlen;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < need)
			cap *= 2;
		unsigned char *p = realloc(b->buf, cap);
		if (!p)
			return errbuf_errno(err, ENOMEM, "recording a skipped path");
		b->buf = p;
		b->cap = cap;
	}
	unsigned char key[STORE_SKIP_POS_MAX], *p = b->buf + b->len;
	size_t klen = store_skip_key(rec, key);
	p += bytes_varint_put(p, klen);
	memcpy(p, key, klen);
	p += klen;
	/* The value: its fixed head is built first, for its length. */
	unsigned char val_head[2 + 20];
	unsigned char *v = val_head;
	*v++ = (unsigned char)rec->type;
	*v++ = (unsigned char)rec->source;
	v += bytes_varint_put(v, rec->line);
	v += bytes_varint_put(v, rec->source_len);
	unsigned char patlen[10];
	size_t pl = bytes_varint_put(patlen, rec->pattern_len);
	size_t real = (size_t)(v - val_head) + rec->source_len + pl + rec->pattern_len +
		      rec->path_len;
	p += bytes_varint_put(p, real);
	memcpy(p, val_head, (size_t)(v - val_head));
	p += v - val_head;
	memcpy(p, rec->source_path, rec->source_len);
	p += rec->source_len;
	memcpy(p, patlen, pl);
	p += pl;
	memcpy(p, rec->pattern, rec->pattern_len);
	p += rec->pattern_len;
	memcpy(p, rec->path, rec->path_len);
	p += rec->path_len;
	b->len = (size_t)(p - b->buf);
	b->count++;
	return 0;
}

int store_put_skips(struct store *s, uint64_t scan_id, struct store_skips *b, struct errbuf *err)
{
	if (!b || b->count == 0)
		return 0;
	struct store_item *it = calloc(1, sizeof(*it));
	if (!it)
		return errbuf_errno(err, ENOMEM, "recording skipped paths of scan %" PRIu64, scan_id);
	it->kind = STORE_ITEM_SKIPS;
	it->scan_id = scan_id;
	it->buf = b->buf;
	it->buf_len = b->len;
	it->count = b->count;
	it->cost = sizeof(*it) + b->cap;
	/* Taken either way, as store_put_dir() takes its batch. */
	b->buf = NULL;
	b->len = b->cap = b->count = 0;
	return store_writer_put_rows(s, it, err);
}

/* Reads one (key, value) pair of a batch buffer. 0, or -EIO when it is cut short. */
static int store_skip_pair(const unsigned char **p, const unsigned char *end, MDB_val *k,
			   MDB_val *v)
{
	uint64_t n;
	if (bytes_varint_get(p, end, &n) < 0 || n > STORE_SKIP_POS_MAX || n > (uint64_t)(end - *p))
		return -EIO;
	k->mv_size = (size_t)n;
	k->mv_data = (void *)*p;
	*p += n;
	if (bytes_varint_get(p, end, &n) < 0 || n > (uint64_t)(end - *p))
		return -EIO;
	v->mv_size = (size_t)n;
	v->mv_data = (void *)*p;
	*p += n;
	return 0;
}

int store_skip_write_item(struct store *s, MDB_txn *txn, const struct store_item *it,
			  struct errbuf *err)
{
	unsigned char key[8 + STORE_SKIP_POS_MAX];
	bytes_be64_put(key, it->scan_id);
	const unsigned char *p = it->buf, *end = p + it->buf_len;
	while (p < end) {
		MDB_val k, v;
		if (store_skip_pair(&p, end, &k, &v) < 0)
			return errbuf_set(err, -EIO, "writing skip records of scan %" PRIu64
					  ": corrupt batch", it->scan_id);
		memcpy(key + 8, k.mv_data, k.mv_size);
		MDB_val full = {8 + k.mv_size, key};
		int rc = mdb_put(txn, s->db_skips, &full, &v, 0);
		if (rc)
			return store_mdb_err(s, err, rc, "writing skip records of scan %" PRIu64
					     " to %s", it->scan_id, s->path);
	}
	return 0;
}

/* Decodes a record's value into `rec`; its strings point into the value. 0 or -EIO. */
static int store_skip_decode(const MDB_val *v, struct store_skip *rec)
{
	const unsigned char *p = v->mv_data, *end = p + v->mv_size;
	uint64_t line, n;
	if (end - p < 2 || p[0] > ENTRY_OTHER || p[1] > STORE_SKIP_OPTION)
		return -EIO;
	rec->type = (enum entry_type)p[0];
	rec->source = (enum store_skip_source)p[1];
	p += 2;
	if (bytes_varint_get(&p, end, &line) < 0 || line > UINT32_MAX ||
	    bytes_varint_get(&p, end, &n) < 0 || n > (uint64_t)(end - p))
		return -EIO;
	rec->line = (uint32_t)line;
	rec->source_path = (const char *)p;
	rec->source_len = (size_t)n;
	p += n;
	if (bytes_varint_get(&p, end, &n) < 0 || n > (uint64_t)(end - p))
		return -EIO;
	rec->pattern = (const char *)p;
	rec->pattern_len = (size_t)n;
	p += n;
	rec->path = (const char *)p;
	rec->path_len = (size_t)(end - p);
	return 0;
}

/* Positions `cur` on the first record of `scan_id` after `after` (0 bytes: the first). */
static int store_skip_seek(MDB_cursor *cur, uint64_t scan_id, const void *after, size_t after_len,
			   MDB_val *k, MDB_val *v)
{
	unsigned char key[8 + STORE_SKIP_POS_MAX];
	bytes_be64_put(key, scan_id);
	memcpy(key + 8, after, after_len);
	*k = (MDB_val){8 + after_len, key};
	int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	if (rc == 0 && after_len && k->mv_size == 8 + after_len &&
	    memcmp(k->mv_data, key, 8 + after_len) == 0)
		rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
	return rc;
}

int store_skipped(struct store *s, uint64_t scan_id, const void *after, size_t after_len,
		  size_t limit, store_skip_cb cb, void *ctx, void *next, size_t *next_len,
		  bool *more, struct errbuf *err)
{
	*more = false;
	*next_len = 0;
	if (after_len > STORE_SKIP_POS_MAX)
		return errbuf_set(err, -EINVAL, "a position of skip records is at most %d bytes",
				  STORE_SKIP_POS_MAX);
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val rec_val;
	int rc = store_read_begin(s, &txn, err);
	if (rc < 0)
		return rc;
	if ((rc = store_scan_lookup(s, txn, scan_id, &rec_val, err)) < 0)
		goto out;
	if ((rc = mdb_cursor_open(txn, s->db_skips, &cur))) {
		rc = store_mdb_err(s, err, rc, "opening a cursor on %s", s->path);
		goto out;
	}
	MDB_val k, v;
	size_t count = 0;
	for (rc = store_skip_seek(cur, scan_id, after, after_len, &k, &v); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < 8 || bytes_be64_get(k.mv_data) != scan_id)
			break;
		if (count == limit) {
			*more = true;
			break;
		}
		struct store_skip rec = {0};
		if (store_skip_decode(&v, &rec) < 0 || k.mv_size - 8 > STORE_SKIP_POS_MAX) {
			rc = errbuf_set(err, -EIO, "a skip record of scan %" PRIu64 " in %s is corrupt",
					scan_id, s->path);
			goto out;
		}
		if ((rc = cb(ctx, &rec))) {
			rc = errbuf_set(err, rc < 0 ? rc : -EIO, "listing skip records of scan %"
					PRIu64, scan_id);
			goto out;
		}
		count++;
		*next_len = k.mv_size - 8;
		memcpy(next, (const unsigned char *)k.mv_data + 8, *next_len);
	}
	if (rc && rc != MDB_NOTFOUND) {
		rc = store_mdb_err(s, err, rc, "reading skip records of scan %" PRIu64 " from %s",
				   scan_id, s->path);
		goto out;
	}
	rc = 0;
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}
