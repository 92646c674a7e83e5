/* store_batch.c: one directory's entries, encoded in name order by the worker that read it. */
#include "store/store_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_codec.h"
#include "store/store_dirread.h"

/*
 * A batch is a plain buffer of records (varint name length, name, varint value length, value),
 * the layout the writer walks (store_writer.c). store_put_dir() takes the buffer itself, without
 * a copy, and leaves the batch empty for the next directory.
 */

struct store_batch {
	unsigned char *buf;
	size_t len, cap, count;
	/** Regular files among the entries, and their bytes (st_size): the directory's own totals. */
	uint64_t files, bytes;
	/** store_batch_mark_copy(): the baseline directory these rows equal (0: none). */
	uint64_t copy_of;
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

static void store_batch_reset(struct store_batch *b)
{
	b->buf = NULL;
	b->len = b->cap = b->count = 0;
	b->last_off = b->last_len = 0;
	b->files = b->bytes = b->copy_of = 0;
}

/* Room for `need` more bytes, the buffer grown by doubling. 0 or -ENOMEM (b unchanged). */
static int store_batch_grow(struct store_batch *b, size_t need)
{
	if (b->cap - b->len >= need)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < need)
		cap *= 2;
	unsigned char *buf = realloc(b->buf, cap);
	if (!buf)
		return -ENOMEM;
	b->buf = buf;
	b->cap = cap;
	return 0;
}

/* Whether name[0..len) may follow the batch's last name (bytewise order, no duplicate). */
static bool store_batch_in_order(const struct store_batch *b, const char *name, size_t len)
{
	return b->count == 0 ||
	       store_name_cmp((const char *)b->buf + b->last_off, b->last_len, name, len) < 0;
}

/* Writes a row's name (varint length, bytes) at the end, with room made: where its value goes. */
static unsigned char *store_batch_name(struct store_batch *b, const char *name, size_t len)
{
	unsigned char *p = b->buf + b->len;
	p += bytes_varint_put(p, len);
	b->last_off = (size_t)(p - b->buf);
	b->last_len = len;
	memcpy(p, name, len);
	return p + len;
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
	if (!store_batch_in_order(b, e->name, e->name_len))
		return errbuf_set(err, -EINVAL,
				  "adding %.*s to a store batch: entries must come in bytewise "
				  "order of names, and it follows %.*s",
				  (int)e->name_len, e->name, (int)b->last_len,
				  (const char *)b->buf + b->last_off);
	/* A name of <= 255 bytes has a 2-byte varint; a value < 2 MiB a 3-byte one at most. */
	if (store_batch_grow(b, 2 + e->name_len + 3 + store_entry_bound(e)) < 0)
		return errbuf_errno(err, ENOMEM, "adding %.*s to a store batch", (int)e->name_len,
				    e->name);
	unsigned char *p = store_batch_name(b, e->name, e->name_len);
	/* Encode past room for the longest length prefix, then close the gap. */
	size_t vlen = store_entry_encode(e, p + 3);
	size_t n = bytes_varint_put(p, vlen);
	if (n < 3)
		memmove(p + n, p + 3, vlen);
	b->len = (size_t)(p + n + vlen - b->buf);
	b->count++;
	if (e->type == ENTRY_FILE) { /* as store_entry_peek() reads the row back */
		b->files++;
		b->bytes += (e->flags & ENTRY_HAS_STAT) ? e->size : 0;
	}
	return 0;
}

void store_batch_mark_copy(struct store_batch *b, uint64_t base_dir_id)
{
	b->copy_of = base_dir_id;
}

int store_batch_add_raw(struct store_batch *b, const struct store_dirents *d, size_t i,
			uint64_t *file_bytes, struct errbuf *err)
{
	const struct entry *e = &d->e[i];
	size_t vlen = d->raw_len[i];
	enum entry_type type;
	*file_bytes = 0;
	if (store_entry_peek(d->raw[i], vlen, &type, file_bytes) < 0 || type != e->type)
		return errbuf_set(err, -EIO, "copying %.*s to a store batch: a damaged row",
				  (int)e->name_len, e->name);
	if (type != ENTRY_FILE)
		*file_bytes = 0;
	if (!store_batch_in_order(b, e->name, e->name_len))
		return errbuf_set(err, -EINVAL, "copying %.*s to a store batch: out of order",
				  (int)e->name_len, e->name);
	if (store_batch_grow(b, 2 + e->name_len + 5 + vlen) < 0)
		return errbuf_errno(err, ENOMEM, "copying %.*s to a store batch", (int)e->name_len,
				    e->name);
	unsigned char *p = store_batch_name(b, e->name, e->name_len);
	p += bytes_varint_put(p, vlen);
	memcpy(p, d->raw[i], vlen);
	b->len = (size_t)(p + vlen - b->buf);
	b->count++;
	if (type == ENTRY_FILE) {
		b->files++;
		b->bytes += *file_bytes;
	}
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
	if (dst->count > 0 &&
	    (bad < 0 || !store_batch_in_order(dst, (const char *)name, (size_t)first_len)))
		return errbuf_set(err, -EINVAL, "appending store batches: names out of order");
	if (store_batch_grow(dst, src->len) < 0)
		return errbuf_errno(err, ENOMEM, "appending store batches of %zu entries", src->count);
	memcpy(dst->buf + dst->len, src->buf, src->len);
	dst->last_off = dst->len + src->last_off;
	dst->last_len = src->last_len;
	dst->len += src->len;
	dst->count += src->count;
	dst->files += src->files;
	dst->bytes += src->bytes;
	dst->copy_of = 0;
	src->len = src->count = 0;
	src->last_off = src->last_len = 0;
	src->files = src->bytes = src->copy_of = 0;
	return 0;
}

unsigned char *store_batch_take(struct store_batch *b, size_t *len, size_t *cap,
			       struct store_dir_note *note)
{
	unsigned char *buf = b->buf;
	*len = b->len;
	*cap = b->cap;
	note->entries = b->count;
	note->files = b->files;
	note->bytes = b->bytes;
	note->copy_of = b->copy_of;
	store_batch_reset(b);
	return buf;
}
