/* test_scanbase: the merge-join of a directory's names with its baseline entries, the racy
 * rule of hash reuse, and the entry's dev field in the store's encoding (old records decode). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include "service/scan/scan_internal.h"
#include "store/store_codec.h"
#include "unit.h"

/* A baseline directory of the given names (sorted), each a hashed file of stat `st`. */
static void t_base(struct store_dirents *d, struct entry *rows, const char *const *names,
		   size_t n)
{
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < n; i++)
		rows[i] = (struct entry){.name = names[i], .name_len = strlen(names[i]),
					 .type = ENTRY_FILE};
	d->e = rows;
	d->n = n;
	d->found = true;
}

static struct scan_name t_name(const char *s)
{
	return (struct scan_name){.name = s, .len = (uint32_t)strlen(s)};
}

static void test_merge_join(void)
{
	static const char *const base_names[] = {"a", "ab", "b", "c\xff", "d", "zz"};
	struct entry rows[6];
	struct store_dirents d;
	t_base(&d, rows, base_names, 6);
	/* The names read now: some new (aa, c, e), some gone (b, zz), in the same bytewise order. */
	static const char *const now[] = {"a", "aa", "ab", "c", "c\xff", "d", "e"};
	static const int want[] = {0, -1, 1, -1, 3, 4, -1};
	struct scan_name names[7];
	for (int i = 0; i < 7; i++)
		names[i] = t_name(now[i]);
	/* Whole directory, then every slice [lo, hi) as the workers of a split directory take them. */
	for (size_t lo = 0; lo < 7; lo++) {
		for (size_t hi = lo + 1; hi <= 7; hi++) {
			size_t j = scanbase_start(&d, &names[lo]);
			for (size_t i = lo; i < hi; i++) {
				const struct entry *m = scanbase_match(&d, &j, &names[i]);
				if (want[i] < 0) {
					CU_ASSERT_PTR_NULL(m);
				} else {
					CU_ASSERT_PTR_EQUAL(m, &rows[want[i]]);
				}
			}
		}
	}
	/* No baseline: nothing matches. */
	size_t j = scanbase_start(NULL, &names[0]);
	CU_ASSERT_PTR_NULL(scanbase_match(NULL, &j, &names[0]));
	/* An empty baseline directory. */
	d.n = 0;
	j = scanbase_start(&d, &names[0]);
	CU_ASSERT_PTR_NULL(scanbase_match(&d, &j, &names[0]));
}

static struct entry t_file(int64_t mtime_sec, uint32_t mtime_nsec)
{
	return (struct entry){.name = "f", .name_len = 1, .type = ENTRY_FILE,
			      .flags = ENTRY_HAS_STAT | ENTRY_HAS_HASH, .dev = 2049, .ino = 42,
			      .size = 10, .mtime_sec = mtime_sec, .mtime_nsec = mtime_nsec,
			      .ctime_sec = mtime_sec, .ctime_nsec = mtime_nsec};
}

static void test_racy_rule(void)
{
	const int64_t start = 1000 * 1000000000LL + 500000000; /* the baseline began at 1000.5 s */
	struct entry b = t_file(990, 0), e = b;
	e.flags = ENTRY_HAS_STAT;
	CU_ASSERT_TRUE(scanbase_hash_reusable(&e, &b, start));
	/* Each field of the identity, changed, forbids the reuse. */
	struct entry x;
	x = e; x.dev = 2050; CU_ASSERT_FALSE(scanbase_hash_reusable(&x, &b, start));
	x = e; x.ino = 43; CU_ASSERT_FALSE(scanbase_hash_reusable(&x, &b, start));
	x = e; x.size = 11; CU_ASSERT_FALSE(scanbase_hash_reusable(&x, &b, start));
	x = e; x.mtime_nsec = 1; CU_ASSERT_FALSE(scanbase_hash_reusable(&x, &b, start));
	x = e; x.ctime_nsec = 1; CU_ASSERT_FALSE(scanbase_hash_reusable(&x, &b, start));
	x = e; x.dev = 0; CU_ASSERT_FALSE(scanbase_hash_reusable(&x, &b, start));
	x = e; x.type = ENTRY_SYMLINK; CU_ASSERT_FALSE(scanbase_hash_reusable(&x, &b, start));
	struct entry nohash = b;
	nohash.flags = ENTRY_HAS_STAT;
	CU_ASSERT_FALSE(scanbase_hash_reusable(&e, &nohash, start));
	CU_ASSERT_FALSE(scanbase_hash_reusable(&e, NULL, start));
	/* Racy: an mtime within a tick (SCANBASE_RACY_NS) of the start, or after it. */
	struct entry r, rb;
	rb = t_file(999, 500000000); r = rb; /* exactly 1 s before: still fine */
	CU_ASSERT_TRUE(scanbase_hash_reusable(&r, &rb, start));
	rb = t_file(999, 500000001); r = rb; /* 1 ns inside the margin */
	CU_ASSERT_FALSE(scanbase_hash_reusable(&r, &rb, start));
	rb = t_file(1000, 500000000); r = rb; /* the very start */
	CU_ASSERT_FALSE(scanbase_hash_reusable(&r, &rb, start));
	rb = t_file(2000, 0); r = rb; /* in the future */
	CU_ASSERT_FALSE(scanbase_hash_reusable(&r, &rb, start));
}

static void test_dev_codec(void)
{
	struct entry e = t_file(990, 7), out;
	unsigned char buf[256];
	size_t n = store_entry_encode(&e, buf);
	CU_ASSERT_TRUE(n <= store_entry_bound(&e));
	CU_ASSERT_EQUAL_FATAL(store_entry_decode(buf, n, &out), 0);
	CU_ASSERT_EQUAL(out.dev, 2049);
	CU_ASSERT_EQUAL(out.ino, 42);
	CU_ASSERT_EQUAL(memcmp(out.sha256, e.sha256, 32), 0);
	/* A record written before the field: no flag, no bytes; it decodes with dev 0. */
	e.dev = 0;
	size_t old = store_entry_encode(&e, buf);
	CU_ASSERT_EQUAL(buf[0] & STORE_CODEC_HAS_DEV, 0);
	CU_ASSERT_TRUE(old < n);
	out.dev = 99;
	CU_ASSERT_EQUAL(store_entry_decode(buf, old, &out), 0);
	CU_ASSERT_EQUAL(out.dev, 0);
	/* A truncated dev is an error, not a crash. */
	e.dev = 1u << 30;
	n = store_entry_encode(&e, buf);
	CU_ASSERT_EQUAL(store_entry_decode(buf, n - 1, &out), -EIO);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"merge-join of names with the baseline, by slices", test_merge_join},
		{"the racy rule and the identity of a file", test_racy_rule},
		{"dev in the entry encoding, old records decode", test_dev_codec},
		{NULL, NULL},
	};
	return unit_run("scanbase", tests);
}
