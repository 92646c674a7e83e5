/* store_dirread.c: one directory of a scan, for rescans against a baseline. */
#include "store/store_dirread.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "store/store_codec.h"
#include "store/store_impl.h"

/* Resolves the directory at path[0..len) of the scan to its dir_id; 0 when it is not there. */
static int store_dirread_resolve(struct store *s, MDB_txn *txn, uint64_t scan_id, const char *path,
				 size_t len, uint64_t *dir, struct errbuf *err)
{
	unsigned char key[8 + 255];
	bytes_be64_put(key, 0);
	bytes_be64_put(key + 8, scan_id);
	MDB_val k = {16, key}, v;
	*dir = 0;
	int rc = mdb_get(txn, s->db_links, &k, &v);
	for (size_t i = 0;; ) {
		if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != 8)) {
			*dir = 0;
			return 0;
		}
		if (rc)
			return store_mdb_err(s, err, rc, "reading links of %s", s->path);
		*dir = bytes_be64_get(v.mv_data);
		if (i >= len)
			return 0;
		const char *c = path + i, *slash = memchr(c, '/', len - i);
		size_t n = slash ? (size_t)(slash - c) : len - i;
		i += n + 1;
		if (n == 0 || n > 255) {
			*dir = 0;
			return 0;
		}
		bytes_be64_put(key, *dir);
		memcpy(key + 8, c, n);
		k = (MDB_val){8 + n, key};
		rc = mdb_get(txn, s->db_links, &k, &v);
	}
}

/* Appends len bytes to d->bytes; their offset in *off. 0 or -ENOMEM. */
static int store_dirread_keep(struct store_dirents *d, const void *p, size_t len, size_t *off)
{
	if (d->bytes_len + len > d->bytes_cap) {
		size_t cap = d->bytes_cap ? d->bytes_cap : 4096;
		while (cap < d->bytes_len + len)
			cap *= 2;
		char *nb = realloc(d->bytes, cap);
		if (!nb)
			return -ENOMEM;
		d->bytes = nb;
		d->bytes_cap = cap;
	}
	memcpy(d->bytes + d->bytes_len, p, len);
	*off = d->bytes_len;
	d->bytes_len += len;
	return 0;
}

/* Doubles the per-entry arrays of d. 0 or -ENOMEM (d unchanged but for what grew). */
static int store_dirread_grow(struct store_dirents *d)
{
	size_t cap = d->cap ? d->cap * 2 : 256;
	struct entry *ne = realloc(d->e, cap * sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	d->e = ne;
	uint64_t *nc = realloc(d->child, cap * sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	d->child = nc;
	const unsigned char **nr = realloc(d->raw, cap * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	d->raw = nr;
	uint32_t *nl = realloc(d->raw_len, cap * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	d->raw_len = nl;
	d->cap = cap;
	return 0;
}

/*
 * Decodes one stored row into the next entry of d (a lazy read: only subdirectories, see
 * store_dirents.lazy), and keeps where its stored bytes are. A subdirectory's name is copied,
 * NUL-terminated (a rescan stats it by name), as an offset into d->bytes until the end; every
 * other name, every link target and the stored bytes point into the map, valid while d->txn is
 * live.
 */
static int store_dirread_add(struct store_dirents *d, const MDB_val *k, const MDB_val *v)
{
	if (d->n == d->cap && store_dirread_grow(d) < 0)
		return -ENOMEM;
	struct entry *e = &d->e[d->n];
	const unsigned char *val = v->mv_data;
	if (v->mv_size < 1 || v->mv_size > UINT32_MAX)
		return -EIO;
	d->raw[d->n] = val;
	d->raw_len[d->n] = (uint32_t)v->mv_size;
	if (d->lazy && (enum entry_type)(val[0] & 3u) != ENTRY_DIR) {
		*e = (struct entry){
			.type = (enum entry_type)(val[0] & 3u),
			.flags = ((val[0] & STORE_CODEC_HAS_STAT) ? ENTRY_HAS_STAT : 0) |
				 ((val[0] & STORE_CODEC_HAS_HASH) ? ENTRY_HAS_HASH : 0)};
	} else if (store_entry_decode(val, v->mv_size, e) < 0) {
		return -EIO;
	}
	e->name_len = k->mv_size - 8;
	e->name = (const char *)k->mv_data + 8;
	if (e->type == ENTRY_DIR) {
		size_t noff, nul;
		if (store_dirread_keep(d, e->name, e->name_len, &noff) < 0 ||
		    store_dirread_keep(d, "", 1, &nul) < 0)
			return -ENOMEM;
		e->name = (const char *)(uintptr_t)noff;
	}
	d->child[d->n] = 0;
	d->n++;
	return 0;
}

/*
 * The links of one directory (keyed parent dir_id + name, so in the order of its rows), walked
 * beside its rows: each subdirectory's link is found by stepping, not by a lookup.
 */
struct store_dirread_links {
	MDB_cursor *c;
	MDB_val k, v;
	bool ok; /* positioned on a link of the directory */
};

/* Steps to the next link of `dir` (MDB_SET_RANGE on the first call). */
static int store_dirread_link_step(struct store *s, struct store_dirread_links *l, uint64_t dir,
				   MDB_cursor_op op, struct errbuf *err)
{
	int rc = mdb_cursor_get(l->c, &l->k, &l->v, op);
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(s, err, rc, "reading links of %s", s->path);
	l->ok = rc == 0 && l->k.mv_size > 8 && bytes_be64_get(l->k.mv_data) == dir;
	return 0;
}

/* The dir_id the subdirectory of row key `k` links to, 0 when none (it was not read). */
static int store_dirread_child(struct store *s, struct store_dirread_links *l, uint64_t dir,
			       const MDB_val *k, uint64_t *child, struct errbuf *err)
{
	*child = 0;
	const char *name = (const char *)k->mv_data + 8;
	size_t len = k->mv_size - 8;
	int rc = 0, cmp = -1;
	while (rc == 0 && l->ok &&
	       (cmp = store_name_cmp((const char *)l->k.mv_data + 8, l->k.mv_size - 8, name, len)) < 0)
		rc = store_dirread_link_step(s, l, dir, MDB_NEXT, err);
	if (rc == 0 && l->ok && cmp == 0 && l->v.mv_size == 8)
		*child = bytes_be64_get(l->v.mv_data);
	return rc;
}

/* Reads the rows of directory `dir` into d (strings as offsets), with their children's ids. */
static int store_dirread_rows(struct store *s, MDB_txn *txn, uint64_t scan_id, uint64_t dir,
			      struct store_dirents *d, struct errbuf *err)
{
	MDB_cursor *c;
	struct store_dirread_links l = {0};
	int rc = mdb_cursor_open(txn, s->db_entries, &c);
	if (rc)
		return store_mdb_err(s, err, rc, "reading entries of %s", s->path);
	unsigned char key[8], lkey[8];
	bytes_be64_put(key, dir);
	bytes_be64_put(lkey, dir);
	MDB_val k = {8, key}, v;
	bool links = false; /* the links cursor, opened at the first subdirectory */
	int arc = 0;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && arc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= 8 || bytes_be64_get(k.mv_data) != dir)
			break;
		if ((arc = store_dirread_add(d, &k, &v)) < 0) {
			arc = arc == -ENOMEM
				      ? errbuf_errno(err, ENOMEM, "reading a directory of scan %" PRIu64,
						     scan_id)
				      : errbuf_set(err, -EIO, "a damaged entry in scan %" PRIu64 " in %s",
						   scan_id, s->path);
			break;
		}
		if (d->e[d->n - 1].type != ENTRY_DIR)
			continue;
		if (!links) {
			if ((arc = mdb_cursor_open(txn, s->db_links, &l.c)) != 0) {
				arc = store_mdb_err(s, err, arc, "reading links of %s", s->path);
				break;
			}
			links = true;
			l.k = (MDB_val){8, lkey};
			if ((arc = store_dirread_link_step(s, &l, dir, MDB_SET_RANGE, err)) < 0)
				break;
		}
		arc = store_dirread_child(s, &l, dir, &k, &d->child[d->n - 1], err);
	}
	if (links)
		mdb_cursor_close(l.c);
	mdb_cursor_close(c);
	if (arc < 0)
		return arc;
	if (rc && rc != MDB_NOTFOUND)
		return store_mdb_err(s, err, rc, "reading entries of %s", s->path);
	return 0;
}

/* The reader's transaction: its reset one renewed, or a new one. */
static int store_dirread_begin(struct store *s, struct store_dirents *d, MDB_txn **txn,
			       struct errbuf *err)
{
	if (d->txn) {
		*txn = d->txn;
		if (d->live)
			mdb_txn_reset(*txn);
		d->live = false;
		if (mdb_txn_renew(*txn) == 0)
			return 0;
		mdb_txn_abort(*txn);
		d->txn = NULL;
	}
	int rc = store_read_begin(s, txn, err);
	if (rc == 0)
		d->txn = *txn;
	return rc;
}

/* Reads directory `dir` (0: resolve path[0..len) first) of the scan into out. */
static int store_dirread(struct store *s, uint64_t scan_id, uint64_t dir, const char *path,
			 size_t len, struct store_dirents *out, struct errbuf *err)
{
	out->n = 0;
	out->bytes_len = 0;
	out->found = false;
	MDB_txn *txn;
	MDB_val rec;
	int rc = store_dirread_begin(s, out, &txn, err);
	if (rc < 0)
		return rc;
	/* The writer commits every few milliseconds, a worker reads hundreds of directories in
	 * between: in the same snapshot, the scan is as alive as it was. */
	size_t txnid = mdb_txn_id(txn);
	if (txnid == 0 || txnid != out->checked_txnid || scan_id != out->checked_scan) {
		if ((rc = store_scan_lookup(s, txn, scan_id, &rec, err)) == 0) {
			out->checked_txnid = txnid;
			out->checked_scan = scan_id;
		}
	}
	if (rc == 0 && !dir)
		rc = store_dirread_resolve(s, txn, scan_id, path, len, &dir, err);
	if (rc == 0 && dir)
		rc = store_dirread_rows(s, txn, scan_id, dir, out, err);
	if (rc < 0) {
		mdb_txn_reset(txn);
		out->n = 0;
		return rc;
	}
	/* Live until the next read: the rows' bytes are used in place. */
	out->live = true;
	out->found = dir != 0;
	/* The buffer is final: offsets become pointers. */
	for (size_t i = 0; i < out->n; i++) {
		struct entry *e = &out->e[i];
		if (e->type == ENTRY_DIR)
			e->name = out->bytes + (uintptr_t)e->name;
	}
	return 0;
}

int store_dir_entries(struct store *s, uint64_t scan_id, const char *path, size_t len,
		      struct store_dirents *out, struct errbuf *err)
{
	return store_dirread(s, scan_id, 0, path, len, out, err);
}

int store_dir_entries_id(struct store *s, uint64_t scan_id, uint64_t dir_id,
			 struct store_dirents *out, struct errbuf *err)
{
	if (!dir_id) {
		out->n = 0;
		out->found = false;
		return 0;
	}
	return store_dirread(s, scan_id, dir_id, NULL, 0, out, err);
}

int store_dirents_decode(const struct store_dirents *d, size_t i, struct entry *e)
{
	if (store_entry_decode(d->raw[i], d->raw_len[i], e) < 0)
		return -EIO;
	e->name = d->e[i].name;
	e->name_len = d->e[i].name_len;
	return 0;
}

void store_dirents_free(struct store_dirents *d)
{
	if (!d)
		return;
	if (d->txn)
		mdb_txn_abort(d->txn); /* live or reset alike */
	free(d->e);
	free(d->child);
	free(d->raw);
	free(d->raw_len);
	free(d->bytes);
	memset(d, 0, sizeof(*d));
}

size_t store_dirents_lower_bound(const struct store_dirents *d, const char *name, size_t len)
{
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (store_name_cmp(d->e[mid].name, d->e[mid].name_len, name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
