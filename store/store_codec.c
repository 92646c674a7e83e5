/* store_codec.c: encoding and decoding of the store's values. */
#include "store/store_codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Layout version of scan records, first byte of each, so a later format can add fields. */
#define STORE_SCAN_REC_V1 1

static int store_varint_get32(const unsigned char **p, const unsigned char *end, uint32_t *v)
{
	uint64_t x;
	if (bytes_varint_get(p, end, &x) < 0 || x > UINT32_MAX)
		return -EIO;
	*v = (uint32_t)x;
	return 0;
}

size_t store_entry_encode(const struct entry *e, unsigned char *out)
{
	unsigned char *p = out + 1;
	unsigned flags = (unsigned)e->type & 3u;
	if (e->flags & ENTRY_HAS_STAT) {
		flags |= STORE_CODEC_HAS_STAT;
		p += bytes_varint_put(p, e->mode);
		p += bytes_varint_put(p, e->uid);
		p += bytes_varint_put(p, e->gid);
		p += bytes_varint_put(p, e->size);
		p += bytes_varint_put(p, e->ino);
		p += bytes_varint_put(p, e->nlink);
		p += bytes_varint_put(p, bytes_zigzag(e->mtime_sec));
		p += bytes_varint_put(p, e->mtime_nsec);
		/* ctime is mostly equal to or just after mtime: the difference takes one byte. */
		p += bytes_varint_put(p, bytes_zigzag((int64_t)((uint64_t)e->ctime_sec -
								 (uint64_t)e->mtime_sec)));
		p += bytes_varint_put(p, e->ctime_nsec);
	}
	if (e->target && e->target_len > 0) {
		flags |= STORE_CODEC_HAS_TARGET;
		p += bytes_varint_put(p, e->target_len);
		memcpy(p, e->target, e->target_len);
		p += e->target_len;
	}
	if (e->flags & ENTRY_HAS_HASH) {
		flags |= STORE_CODEC_HAS_HASH;
		memcpy(p, e->sha256, 32);
		p += 32;
	}
	if (e->git != ENTRY_GIT_NONE) {
		flags |= STORE_CODEC_HAS_GIT;
		*p++ = e->git;
	}
	if ((e->flags & ENTRY_HAS_STAT) && e->dev != 0) {
		flags |= STORE_CODEC_HAS_DEV;
		p += bytes_varint_put(p, e->dev);
	}
	out[0] = (unsigned char)flags;
	return (size_t)(p - out);
}

int store_entry_peek(const void *val, size_t len, enum entry_type *type, uint64_t *size)
{
	const unsigned char *p = val, *end = p + len;
	if (len < 1)
		return -EIO;
	unsigned flags = *p++;
	*type = (enum entry_type)(flags & 3u);
	*size = 0;
	if (!(flags & STORE_CODEC_HAS_STAT))
		return 0;
	uint64_t skip;
	/* mode, uid, gid, then the size: the order of store_entry_encode(). */
	for (int i = 0; i < 3; i++)
		if (bytes_varint_get(&p, end, &skip) < 0)
			return -EIO;
	return bytes_varint_get(&p, end, size) < 0 ? -EIO : 0;
}

int store_entry_decode(const void *val, size_t len, struct entry *e)
{
	const unsigned char *p = val, *end = p + len;
	if (len < 1)
		return -EIO;
	unsigned flags = *p++;
	e->type = (enum entry_type)(flags & 3u);
	e->flags = 0;
	e->mode = e->uid = e->gid = 0;
	e->size = e->ino = e->nlink = e->dev = 0;
	e->mtime_sec = e->ctime_sec = 0;
	e->mtime_nsec = e->ctime_nsec = 0;
	e->target = NULL;
	e->target_len = 0;
	memset(e->sha256, 0, sizeof(e->sha256));
	e->git = ENTRY_GIT_NONE;
	if (flags & STORE_CODEC_HAS_STAT) {
		uint64_t mt, ct;
		if (store_varint_get32(&p, end, &e->mode) < 0 ||
		    store_varint_get32(&p, end, &e->uid) < 0 ||
		    store_varint_get32(&p, end, &e->gid) < 0 ||
		    bytes_varint_get(&p, end, &e->size) < 0 ||
		    bytes_varint_get(&p, end, &e->ino) < 0 ||
		    bytes_varint_get(&p, end, &e->nlink) < 0 || bytes_varint_get(&p, end, &mt) < 0 ||
		    store_varint_get32(&p, end, &e->mtime_nsec) < 0 ||
		    bytes_varint_get(&p, end, &ct) < 0 ||
		    store_varint_get32(&p, end, &e->ctime_nsec) < 0)
			return -EIO;
		e->mtime_sec = bytes_unzigzag(mt);
		e->ctime_sec = (int64_t)((uint64_t)e->mtime_sec + (uint64_t)bytes_unzigzag(ct));
		e->flags |= ENTRY_HAS_STAT;
	}
	if (flags & STORE_CODEC_HAS_TARGET) {
		uint64_t n;
		if (bytes_varint_get(&p, end, &n) < 0 || n > (uint64_t)(end - p))
			return -EIO;
		e->target = (const char *)p;
		e->target_len = (size_t)n;
		p += n;
	}
	if (flags & STORE_CODEC_HAS_HASH) {
		if (end - p < 32)
			return -EIO;
		memcpy(e->sha256, p, 32);
		p += 32;
		e->flags |= ENTRY_HAS_HASH;
	}
	if (flags & STORE_CODEC_HAS_GIT) {
		if (end - p < 1 || *p == ENTRY_GIT_NONE || *p >= ENTRY_GIT_COUNT)
			return -EIO;
		e->git = *p++;
	}
	if ((flags & STORE_CODEC_HAS_DEV) && bytes_varint_get(&p, end, &e->dev) < 0)
		return -EIO;
	return p == end ? 0 : -EIO;
}

/* Strings of a scan record are varint(len + 1) then the bytes; 0 stands for NULL. */
static size_t store_str_size(const char *s, size_t len)
{
	return s ? 10 + len : 1;
}

static unsigned char *store_str_put(unsigned char *p, const char *s, size_t len)
{
	if (!s)
		return p + bytes_varint_put(p, 0);
	p += bytes_varint_put(p, (uint64_t)len + 1);
	memcpy(p, s, len);
	return p + len;
}

static int store_str_get(const unsigned char **p, const unsigned char *end, char **out,
			 size_t *out_len)
{
	uint64_t n;
	if (bytes_varint_get(p, end, &n) < 0)
		return -EIO;
	if (n == 0) {
		*out = NULL;
		if (out_len)
			*out_len = 0;
		return 0;
	}
	n--;
	if (n > (uint64_t)(end - *p))
		return -EIO;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, *p, (size_t)n);
	s[n] = '\0';
	*p += n;
	*out = s;
	if (out_len)
		*out_len = (size_t)n;
	return 0;
}

int store_scan_encode(const struct store_scan *scan, unsigned char **out, size_t *out_len)
{
	size_t opt_len = scan->options_json ? strlen(scan->options_json) : 0;
	size_t cnt_len = scan->counters_json ? strlen(scan->counters_json) : 0;
	size_t err_len = scan->error ? strlen(scan->error) : 0;
	size_t cap = 2 + 9 * 10 + store_str_size(scan->root, scan->root_len) +
		     store_str_size(scan->options_json, opt_len) +
		     store_str_size(scan->counters_json, cnt_len) +
		     store_str_size(scan->error, err_len);
	unsigned char *buf = malloc(cap), *p = buf;
	if (!buf)
		return -ENOMEM;
	*p++ = STORE_SCAN_REC_V1;
	*p++ = (unsigned char)scan->state;
	p += bytes_varint_put(p, bytes_zigzag(scan->created_ns));
	p += bytes_varint_put(p, bytes_zigzag(scan->started_ns));
	p += bytes_varint_put(p, bytes_zigzag(scan->finished_ns));
	const struct store_scan_totals *t = &scan->totals;
	p += bytes_varint_put(p, t->dirs);
	p += bytes_varint_put(p, t->files);
	p += bytes_varint_put(p, t->symlinks);
	p += bytes_varint_put(p, t->other);
	p += bytes_varint_put(p, t->bytes);
	p += bytes_varint_put(p, t->errors);
	p = store_str_put(p, scan->root, scan->root_len);
	p = store_str_put(p, scan->options_json, opt_len);
	p = store_str_put(p, scan->counters_json, cnt_len);
	p = store_str_put(p, scan->error, err_len);
	*out = buf;
	*out_len = (size_t)(p - buf);
	return 0;
}

int store_scan_peek_state(const void *val, size_t len, enum scan_state *state)
{
	const unsigned char *p = val;
	if (len < 2 || p[0] != STORE_SCAN_REC_V1 || p[1] >= SCAN_STATE_COUNT)
		return -EIO;
	*state = (enum scan_state)p[1];
	return 0;
}

int store_scan_decode(uint64_t id, const void *val, size_t len, struct store_scan *out)
{
	const unsigned char *p = val, *end = p + len;
	uint64_t v[9];
	int rc;
	memset(out, 0, sizeof(*out));
	if (store_scan_peek_state(val, len, &out->state) < 0)
		return -EIO;
	p += 2;
	for (int i = 0; i < 9; i++)
		if (bytes_varint_get(&p, end, &v[i]) < 0)
			return -EIO;
	out->id = id;
	out->created_ns = bytes_unzigzag(v[0]);
	out->started_ns = bytes_unzigzag(v[1]);
	out->finished_ns = bytes_unzigzag(v[2]);
	out->totals = (struct store_scan_totals){v[3], v[4], v[5], v[6], v[7], v[8]};
	if ((rc = store_str_get(&p, end, &out->root, &out->root_len)) < 0 ||
	    (rc = store_str_get(&p, end, &out->options_json, NULL)) < 0 ||
	    (rc = store_str_get(&p, end, &out->counters_json, NULL)) < 0 ||
	    (rc = store_str_get(&p, end, &out->error, NULL)) < 0)
		goto fail;
	if (p != end) {
		rc = -EIO;
		goto fail;
	}
	return 0;
fail:
	store_scan_clear(out);
	return rc;
}

size_t store_dir_encode(uint64_t scan_id, uint64_t parent, const char *name, size_t name_len,
			unsigned char *out)
{
	unsigned char *p = out;
	p += bytes_varint_put(p, scan_id);
	p += bytes_varint_put(p, parent);
	memcpy(p, name, name_len);
	return (size_t)(p - out) + name_len;
}

int store_dir_decode(const void *val, size_t len, struct store_dir_rec *out)
{
	const unsigned char *p = val, *end = p + len;
	if (bytes_varint_get(&p, end, &out->scan_id) < 0 ||
	    bytes_varint_get(&p, end, &out->parent) < 0)
		return -EIO;
	out->name = (const char *)p;
	out->name_len = (size_t)(end - p);
	return 0;
}

size_t store_error_encode(int errnum, const char *op, size_t op_len, const char *path,
			  size_t path_len, unsigned char *out)
{
	unsigned char *p = out;
	p += bytes_varint_put(p, bytes_zigzag(errnum));
	p += bytes_varint_put(p, op_len);
	memcpy(p, op, op_len);
	p += op_len;
	memcpy(p, path, path_len);
	return (size_t)(p - out) + path_len;
}

int store_error_decode(const void *val, size_t len, int *errnum, const char **op, size_t *op_len,
		       const char **path, size_t *path_len)
{
	const unsigned char *p = val, *end = p + len;
	uint64_t e, n;
	if (bytes_varint_get(&p, end, &e) < 0 || bytes_varint_get(&p, end, &n) < 0 ||
	    n > (uint64_t)(end - p))
		return -EIO;
	*errnum = (int)bytes_unzigzag(e);
	*op = (const char *)p;
	*op_len = (size_t)n;
	p += n;
	*path = (const char *)p;
	*path_len = (size_t)(end - p);
	return 0;
}

int store_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}
