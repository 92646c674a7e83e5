/*
 * fuzz_store_records.c: the store's value decoders (store/store_codec.h, base/bytes.h). A data
 * file can be damaged or written by another version; its values must then give -EIO, never a
 * read past the value, a crash or a leak.
 *
 * fuzz-options: -max_len=2048 -timeout=10
 *
 * Every input goes to each decoder (entry, scan record, dirs value, errors value, a run of
 * varints). Where a decoder accepts it, the value is encoded again into a buffer of exactly the
 * size the encoder promises and decoded once more: the two decodings must be equal. Encoded
 * forms may differ (a decoder accepts overlong varints and ignores unused flag bits), decoded
 * values may not.
 */
#include <errno.h>
#include <string.h>

#include "base/bytes.h"
#include "store/store_codec.h"
#include "tests/fuzz/fuzz.h"

static bool fuzz_mem_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Compares the fields a value carries (the name is not in the value). */
static bool fuzz_entry_eq(const struct entry *a, const struct entry *b)
{
	return a->type == b->type && a->flags == b->flags && a->mode == b->mode &&
	       a->uid == b->uid && a->gid == b->gid && a->size == b->size && a->ino == b->ino &&
	       a->nlink == b->nlink && a->mtime_sec == b->mtime_sec &&
	       a->ctime_sec == b->ctime_sec && a->mtime_nsec == b->mtime_nsec &&
	       a->ctime_nsec == b->ctime_nsec &&
	       fuzz_mem_eq(a->target, a->target_len, b->target, b->target_len) &&
	       memcmp(a->sha256, b->sha256, sizeof(a->sha256)) == 0;
}

static void fuzz_entry(const uint8_t *data, size_t size)
{
	struct entry e;
	int rc = store_entry_decode(data, size, &e);
	FUZZ_CHECK(rc == 0 || rc == -EIO, "store_entry_decode returned %d", rc);
	/* The partial decoding of the totals agrees with the whole one wherever that succeeds. */
	enum entry_type type;
	uint64_t psize;
	int prc = store_entry_peek(data, size, &type, &psize);
	FUZZ_CHECK(prc == 0 || prc == -EIO, "store_entry_peek returned %d", prc);
	FUZZ_CHECK(rc < 0 || (prc == 0 && type == e.type &&
			      psize == ((e.flags & ENTRY_HAS_STAT) ? e.size : 0)),
		   "store_entry_peek disagrees with store_entry_decode");
	if (rc < 0)
		return;
	FUZZ_CHECK(e.type <= ENTRY_OTHER, "entry type %d", (int)e.type);
	FUZZ_CHECK(e.target_len <= size, "a target of %zu bytes in a %zu-byte value", e.target_len,
		   size);
	size_t bound = store_entry_bound(&e);
	unsigned char *buf = fuzz_alloc(bound);
	size_t len = store_entry_encode(&e, buf);
	FUZZ_CHECK(len <= bound, "encoded %zu bytes, bound %zu", len, bound);
	struct entry again;
	FUZZ_CHECK(store_entry_decode(buf, len, &again) == 0, "a re-encoded entry does not decode");
	FUZZ_CHECK(fuzz_entry_eq(&e, &again), "a re-encoded entry decodes to another entry");
	free(buf);
}

/* Strings of a scan record are C strings (the encoder measures them with strlen). */
static bool fuzz_str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool fuzz_scan_eq(const struct store_scan *a, const struct store_scan *b)
{
	return a->id == b->id && a->state == b->state &&
	       ((!a->root && !b->root) ||
		(a->root && b->root && fuzz_mem_eq(a->root, a->root_len, b->root, b->root_len))) &&
	       fuzz_str_eq(a->options_json, b->options_json) &&
	       fuzz_str_eq(a->counters_json, b->counters_json) && fuzz_str_eq(a->error, b->error) &&
	       a->created_ns == b->created_ns && a->started_ns == b->started_ns &&
	       a->finished_ns == b->finished_ns &&
	       memcmp(&a->totals, &b->totals, sizeof(a->totals)) == 0;
}

static void fuzz_scan(const uint8_t *data, size_t size)
{
	struct store_scan s;
	enum scan_state peeked;
	int prc = store_scan_peek_state(data, size, &peeked);
	int rc = store_scan_decode(42, data, size, &s);
	FUZZ_CHECK(rc == 0 || rc == -EIO, "store_scan_decode returned %d", rc);
	FUZZ_CHECK(prc == 0 || prc == -EIO, "store_scan_peek_state returned %d", prc);
	if (rc < 0) {
		FUZZ_CHECK(!s.root && !s.options_json && !s.counters_json && !s.error,
			   "a failed decode leaves strings behind");
		return;
	}
	FUZZ_CHECK(prc == 0 && peeked == s.state, "peek and decode disagree on the state");
	FUZZ_CHECK((unsigned)s.state < SCAN_STATE_COUNT, "scan state %d", (int)s.state);
	FUZZ_CHECK(s.id == 42, "the id is not the key's");
	FUZZ_CHECK(!s.root || s.root[s.root_len] == '\0', "the root is not NUL-terminated");

	unsigned char *buf = NULL;
	size_t len = 0;
	FUZZ_CHECK(store_scan_encode(&s, &buf, &len) == 0, "re-encoding a scan failed");
	struct store_scan again;
	FUZZ_CHECK(store_scan_decode(42, buf, len, &again) == 0,
		   "a re-encoded scan does not decode");
	FUZZ_CHECK(fuzz_scan_eq(&s, &again), "a re-encoded scan decodes to another scan");
	store_scan_clear(&again);
	free(buf);
	store_scan_clear(&s);
}

static void fuzz_dir(const uint8_t *data, size_t size)
{
	struct store_dir_rec d;
	int rc = store_dir_decode(data, size, &d);
	FUZZ_CHECK(rc == 0 || rc == -EIO, "store_dir_decode returned %d", rc);
	if (rc < 0)
		return;
	FUZZ_CHECK(d.name >= (const char *)data && d.name + d.name_len == (const char *)data + size,
		   "the name is not the value's tail");
	unsigned char *buf = fuzz_alloc(20 + d.name_len);
	size_t len = store_dir_encode(d.scan_id, d.parent, d.name, d.name_len, buf);
	FUZZ_CHECK(len <= 20 + d.name_len, "encoded %zu bytes", len);
	struct store_dir_rec again;
	FUZZ_CHECK(store_dir_decode(buf, len, &again) == 0, "a re-encoded dir does not decode");
	FUZZ_CHECK(again.scan_id == d.scan_id && again.parent == d.parent &&
			   fuzz_mem_eq(again.name, again.name_len, d.name, d.name_len),
		   "a re-encoded dir decodes to another");
	free(buf);
}

static void fuzz_error(const uint8_t *data, size_t size)
{
	int errnum;
	const char *op, *path;
	size_t op_len, path_len;
	int rc = store_error_decode(data, size, &errnum, &op, &op_len, &path, &path_len);
	FUZZ_CHECK(rc == 0 || rc == -EIO, "store_error_decode returned %d", rc);
	if (rc < 0)
		return;
	const char *end = (const char *)data + size;
	FUZZ_CHECK(op >= (const char *)data && op + op_len == path && path + path_len == end,
		   "op and path are not the value's tail");
	unsigned char *buf = fuzz_alloc(20 + op_len + path_len);
	size_t len = store_error_encode(errnum, op, op_len, path, path_len, buf);
	FUZZ_CHECK(len <= 20 + op_len + path_len, "encoded %zu bytes", len);
	int errnum2;
	const char *op2, *path2;
	size_t op2_len, path2_len;
	FUZZ_CHECK(store_error_decode(buf, len, &errnum2, &op2, &op2_len, &path2, &path2_len) == 0,
		   "a re-encoded error does not decode");
	FUZZ_CHECK(errnum2 == errnum && fuzz_mem_eq(op, op_len, op2, op2_len) &&
			   fuzz_mem_eq(path, path_len, path2, path2_len),
		   "a re-encoded error decodes to another");
	free(buf);
}

/* The input as a run of varints: each decodes within BYTES_VARINT_MAX bytes and round-trips. */
static void fuzz_varints(const uint8_t *data, size_t size)
{
	const unsigned char *p = data, *end = data + size;
	while (p < end) {
		const unsigned char *q = p;
		uint64_t v;
		if (bytes_varint_get(&q, end, &v) < 0) {
			FUZZ_CHECK(q == p, "a failed varint read moved the cursor");
			return;
		}
		FUZZ_CHECK(q > p && q - p <= BYTES_VARINT_MAX, "a varint of %td bytes", q - p);
		unsigned char buf[BYTES_VARINT_MAX];
		size_t n = bytes_varint_put(buf, v);
		FUZZ_CHECK(n <= (size_t)(q - p), "the encoding of %llu is longer than a form read",
			   (unsigned long long)v);
		const unsigned char *r = buf;
		uint64_t w;
		FUZZ_CHECK(bytes_varint_get(&r, buf + n, &w) == 0 && w == v && r == buf + n,
			   "%llu does not round-trip", (unsigned long long)v);
		FUZZ_CHECK(bytes_unzigzag(bytes_zigzag(bytes_unzigzag(v))) == bytes_unzigzag(v),
			   "zigzag of %llu does not round-trip", (unsigned long long)v);
		p = q;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_entry(data, size);
	fuzz_scan(data, size);
	fuzz_dir(data, size);
	fuzz_error(data, size);
	fuzz_varints(data, size);
	return 0;
}
