/*
 * test_store_migrate.c: a store written by format 1 (tests/data/store-v1, made by leindexd
 * 48d6df1) opens, migrated in place, with every scan, entry and error its manifest lists; a
 * crash before the migration commits leaves the old file untouched; formats the binary cannot
 * read are refused with what to do.
 */
#include <fcntl.h>
#include <lmdb.h> /* only to look at the file behind the store's back */
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/test_store_util.h"

/* ---------------------------------------------------------------- the manifest */

/* One scan of the manifest: its line's fields, then its entry and error lines as written. */
struct mscan {
	uint64_t id;
	char state[32];
	struct store_scan_totals totals;
	int64_t created, started, finished;
	char root[512], options[2048];
	char **lines; /* "entry ..." and "error ..." lines, in order, without the newline */
	size_t n, cap;
};

struct manifest {
	struct mscan *scans;
	size_t n;
	uint64_t gone[8];
	size_t ngone;
	size_t entries; /* entry lines in all */
};

static char *data_path(char *buf, size_t len, const char *name)
{
	char here[4096];
	snprintf(here, sizeof(here), "%s", __FILE__);
	snprintf(buf, len, "%s/../data/store-v1/%s", dirname(here), name);
	return buf;
}

static void mscan_add_line(struct mscan *m, const char *line)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->lines = realloc(m->lines, m->cap * sizeof(*m->lines));
		if (!m->lines)
			abort();
	}
	if (!(m->lines[m->n++] = strdup(line)))
		abort();
}

static int manifest_load(struct manifest *mf)
{
	char path[4096], line[16384];
	FILE *f = fopen(data_path(path, sizeof(path), "manifest.txt"), "r");
	if (!f) {
		perror(path);
		return -1;
	}
	memset(mf, 0, sizeof(*mf));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "scan ", 5)) {
			mf->scans = realloc(mf->scans, (mf->n + 1) * sizeof(*mf->scans));
			if (!mf->scans)
				abort();
			struct mscan *m = &mf->scans[mf->n++];
			memset(m, 0, sizeof(*m));
			struct store_scan_totals *t = &m->totals;
			if (sscanf(line, "scan %" SCNu64 " %31s %" SCNu64 " %" SCNu64 " %" SCNu64
					 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNd64
					 " %" SCNd64 " %511s %2047s",
				   &m->id, m->state, &t->dirs, &t->files, &t->symlinks, &t->other,
				   &t->bytes, &t->errors, &m->created, &m->started, &m->finished,
				   m->root, m->options) != 13)
				return -1;
		} else if (!strncmp(line, "gone ", 5)) {
			mf->gone[mf->ngone++] = strtoull(line + 5, NULL, 10);
		} else if (mf->n && (!strncmp(line, "entry ", 6) || !strncmp(line, "error ", 6))) {
			mscan_add_line(&mf->scans[mf->n - 1], line);
			mf->entries += line[3] == 'r' && line[4] == 'y';
		} else {
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static void manifest_free(struct manifest *mf)
{
	for (size_t i = 0; i < mf->n; i++) {
		for (size_t j = 0; j < mf->scans[i].n; j++)
			free(mf->scans[i].lines[j]);
		free(mf->scans[i].lines);
	}
	free(mf->scans);
}

/* The manifest's escaping of bytes (as make_v1.c writes them). */
static void esc(char **p, const void *data, size_t n)
{
	const unsigned char *b = data;
	if (!data || n == 0) {
		*(*p)++ = '-';
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (b[i] > ' ' && b[i] <= '~' && b[i] != '%' && !(n == 1 && b[i] == '-'))
			*(*p)++ = (char)b[i];
		else
			*p += sprintf(*p, "%%%02x", b[i]);
	}
}

/* What the migrated store gives, in the manifest's line format. */
static int line_of_entry(void *ctx, const char *path, size_t len, const struct entry *e)
{
	char line[16384], *p = line;
	p += sprintf(p, "entry ");
	esc(&p, path, len);
	p += sprintf(p, " %d %u %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64
			" %" PRId64 " %" PRIu32 " %" PRId64 " %" PRIu32 " ",
		     (int)e->type, e->flags, e->mode, e->uid, e->gid, e->size, e->ino, e->nlink,
		     e->mtime_sec, e->mtime_nsec, e->ctime_sec, e->ctime_nsec);
	esc(&p, e->target, e->target_len);
	*p++ = ' ';
	if (e->flags & ENTRY_HAS_HASH)
		for (int i = 0; i < 32; i++)
			p += sprintf(p, "%02x", e->sha256[i]);
	else
		*p++ = '-';
	*p = '\0';
	mscan_add_line(ctx, line);
	return 0;
}

static int line_of_error(void *ctx, const struct store_error *e)
{
	char line[16384], *p = line;
	p += sprintf(p, "error %" PRIu64 " %d ", e->seq, e->errnum);
	esc(&p, e->op, strlen(e->op));
	*p++ = ' ';
	esc(&p, e->path, e->path_len);
	*p = '\0';
	mscan_add_line(ctx, line);
	return 0;
}

/* The totals of what the manifest lists for a scan, counted as the scanner counts. */
static struct store_scan_totals totals_of(const struct mscan *m)
{
	struct store_scan_totals t = {0};
	for (size_t i = 0; i < m->n; i++) {
		int type;
		uint64_t size;
		char path[16384];
		if (!strncmp(m->lines[i], "error ", 6)) {
			t.errors++;
			continue;
		}
		if (sscanf(m->lines[i], "entry %16383s %d %*u %*u %*u %*u %" SCNu64, path, &type,
			   &size) != 3)
			continue;
		t.dirs += type == ENTRY_DIR;
		t.files += type == ENTRY_FILE;
		t.symlinks += type == ENTRY_SYMLINK;
		t.other += type == ENTRY_OTHER;
		t.bytes += type == ENTRY_FILE ? size : 0;
	}
	return t;
}

static bool totals_equal(const struct store_scan_totals *a, const struct store_scan_totals *b)
{
	return a->dirs == b->dirs && a->files == b->files && a->symlinks == b->symlinks &&
	       a->other == b->other && a->bytes == b->bytes && a->errors == b->errors;
}

/* Checks one scan of the manifest against the store. */
static void check_scan(struct store *s, const struct mscan *m)
{
	struct errbuf err = {0};
	struct store_scan sc;
	CU_ASSERT_EQUAL_FATAL(store_scan_get(s, m->id, &sc, &err), 0);
	char root[1024], opts[4096], *p = root;
	esc(&p, sc.root, sc.root_len);
	*p = '\0';
	p = opts;
	esc(&p, sc.options_json, sc.options_json ? strlen(sc.options_json) : 0);
	*p = '\0';
	CU_ASSERT_STRING_EQUAL(root, m->root);
	CU_ASSERT_STRING_EQUAL(opts, m->options);
	CU_ASSERT_EQUAL(sc.created_ns, m->created);
	CU_ASSERT_EQUAL(sc.started_ns, m->started);
	struct store_scan_totals counted = totals_of(m);
	if (!strcmp(m->state, "running")) {
		/* Left running by a crash: interrupted now, with the totals of what it stored. */
		CU_ASSERT_EQUAL(sc.state, SCAN_INTERRUPTED);
		CU_ASSERT_TRUE(sc.finished_ns > 0);
		CU_ASSERT_TRUE(totals_equal(&sc.totals, &counted));
		CU_ASSERT_TRUE(counted.files > 0 && counted.dirs > 0 && counted.errors > 0);
	} else {
		CU_ASSERT_STRING_EQUAL(scan_state_name(sc.state), m->state);
		CU_ASSERT_EQUAL(sc.finished_ns, m->finished);
		CU_ASSERT_TRUE(totals_equal(&sc.totals, &m->totals));
		CU_ASSERT_TRUE(totals_equal(&sc.totals, &counted)); /* the manifest is whole */
	}
	store_scan_clear(&sc);

	/* Every entry and error, in order, with every field, in pages that resume. */
	struct mscan got = {0};
	struct store_pos pos, next;
	bool more, first = true;
	do {
		CU_ASSERT_EQUAL_FATAL(store_walk(s, m->id, NULL, first ? NULL : &pos, 37,
						 line_of_entry, &got, &next, &more, &err), 0);
		pos = next;
		first = false;
	} while (more);
	uint64_t after;
	CU_ASSERT_EQUAL(store_errors(s, m->id, 0, SIZE_MAX, line_of_error, &got, &after, &more,
				     &err), 0);
	CU_ASSERT_EQUAL(got.n, m->n);
	size_t bad = 0;
	for (size_t i = 0; i < got.n && i < m->n; i++) {
		if (strcmp(got.lines[i], m->lines[i]) && bad++ < 3)
			fprintf(stderr, "\n  scan %" PRIu64 " line %zu:\n  want %s\n  got  %s\n", m->id,
				i, m->lines[i], got.lines[i]);
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (size_t i = 0; i < got.n; i++)
		free(got.lines[i]);
	free(got.lines);
}

static int list_ids(void *ctx, const struct store_scan *scan)
{
	struct tsu_list *l = ctx;
	char id[32];
	snprintf(id, sizeof(id), "%" PRIu64, scan->id);
	tsu_list_add(l, id, strlen(id), ENTRY_OTHER);
	return 0;
}

/* Everything the manifest lists is in the store, and nothing else but `added` new scans. */
static void check_manifest(struct store *s, const struct manifest *mf, size_t added)
{
	struct errbuf err = {0};
	for (size_t i = 0; i < mf->n; i++)
		check_scan(s, &mf->scans[i]);
	for (size_t i = 0; i < mf->ngone; i++) {
		struct store_scan sc;
		CU_ASSERT_EQUAL(store_scan_get(s, mf->gone[i], &sc, &err), -ENOENT);
	}
	struct tsu_list l = {0};
	CU_ASSERT_EQUAL(store_scan_list(s, 0, 0, list_ids, &l, &err), 0);
	CU_ASSERT_EQUAL(l.n, mf->n + added);
	tsu_list_free(&l);
}

/* ---------------------------------------------------------------- the file */

/* Copies the format-1 store into a new temp data directory. */
static void copy_v1(char *dir)
{
	char src[4096], dst[128], buf[65536];
	tsu_tmpdir(dir);
	snprintf(dst, sizeof(dst), "%s/leindex.mdb", dir);
	int in = open(data_path(src, sizeof(src), "leindex.mdb"), O_RDONLY);
	int out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(in >= 0 && out >= 0);
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		CU_ASSERT_FATAL(write(out, buf, (size_t)n) == n);
	close(in);
	close(out);
}

/* What the file holds, read with LMDB: its format, tables and format-1 markers. */
struct raw {
	uint64_t format;
	bool has_tombstones_table;
	size_t deleting_markers, entries, tombstones;
	int scan4_state;
};

static struct raw raw_read(const char *dir)
{
	char path[128];
	struct raw r = {.scan4_state = -1};
	snprintf(path, sizeof(path), "%s/leindex.mdb", dir);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, dbi;
	MDB_stat st;
	MDB_cursor *cur;
	MDB_val k = {6, "format"}, v;
	unsigned char four[8] = {0, 0, 0, 0, 0, 0, 0, 4};
	if (mdb_env_create(&env))
		return r;
	mdb_env_set_maxdbs(env, 8);
	if (mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY, 0600) ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn))
		goto out;
	if (mdb_dbi_open(txn, "meta", 0, &meta) == 0 && mdb_get(txn, meta, &k, &v) == 0 &&
	    v.mv_size == 8)
		for (int i = 0; i < 8; i++)
			r.format = r.format << 8 | ((unsigned char *)v.mv_data)[i];
	if (mdb_cursor_open(txn, meta, &cur) == 0) {
		while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
			r.deleting_markers += k.mv_size > 9 && !memcmp(k.mv_data, "deleting:", 9);
		mdb_cursor_close(cur);
	}
	if (mdb_dbi_open(txn, "tombstones", 0, &dbi) == 0 && mdb_stat(txn, dbi, &st) == 0) {
		r.has_tombstones_table = true;
		r.tombstones = st.ms_entries;
	}
	if (mdb_dbi_open(txn, "entries", 0, &dbi) == 0 && mdb_stat(txn, dbi, &st) == 0)
		r.entries = st.ms_entries;
	k = (MDB_val){8, four};
	if (mdb_dbi_open(txn, "scans", 0, &dbi) == 0 && mdb_get(txn, dbi, &k, &v) == 0 &&
	    v.mv_size > 2)
		r.scan4_state = ((unsigned char *)v.mv_data)[1];
	mdb_txn_abort(txn);
out:
	mdb_env_close(env);
	return r;
}

/* Whether two files hold the same bytes. */
static bool same_bytes(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	bool same = fa && fb;
	int ca, cb;
	while (same && ((ca = getc(fa)) != EOF) | ((cb = getc(fb)) != EOF))
		same = ca == cb;
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/* Rewrites byte 1 (the state) of scan 4's record, as format 1's next open would have. */
static void mark_scan4_interrupted_v1(const char *dir)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/leindex.mdb", dir);
	unsigned char four[8] = {0, 0, 0, 0, 0, 0, 0, 4}, rec[4096];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {8, four}, v;
	CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, 0, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "scans", 0, &dbi), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_get(txn, dbi, &k, &v), 0);
	CU_ASSERT_FATAL(v.mv_size <= sizeof(rec));
	memcpy(rec, v.mv_data, v.mv_size);
	rec[1] = SCAN_INTERRUPTED;
	v.mv_data = rec;
	CU_ASSERT_EQUAL(mdb_put(txn, dbi, &k, &v, 0), 0);
	CU_ASSERT_EQUAL(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* ---------------------------------------------------------------- the tests */

static void open_and_check(const char *dir, const struct manifest *mf)
{
	struct store *s = tsu_open(dir, 0);
	check_manifest(s, mf, 0);
	struct store_info info;
	struct errbuf err = {0};
	CU_ASSERT_EQUAL(store_info(s, &info, &err), 0);
	CU_ASSERT_EQUAL(info.tombstones, 0); /* the cut-short deletion was finished */
	/* Ids go on after the highest ever handed out (6 was deleted). */
	CU_ASSERT_EQUAL(tsu_scan(s, SCAN_COMPLETED, "/new"), 7);
	store_close(s);
	struct raw r = raw_read(dir);
	CU_ASSERT_EQUAL(r.format, STORE_FORMAT_VERSION);
	CU_ASSERT_EQUAL(r.deleting_markers, 0);
	CU_ASSERT_TRUE(r.has_tombstones_table);
	CU_ASSERT_EQUAL(r.tombstones, 0);
	CU_ASSERT_EQUAL(r.entries, mf->entries); /* the cut-short deletion's rows are gone */

	/* And it opens again as a store of the current format, the same. */
	s = tsu_open(dir, 0);
	check_manifest(s, mf, 1);
	store_close(s);
}

static void test_v1_store_migrates(void)
{
	struct manifest mf;
	CU_ASSERT_EQUAL_FATAL(manifest_load(&mf), 0);
	CU_ASSERT_EQUAL_FATAL(mf.n, 4);
	CU_ASSERT_EQUAL(mf.ngone, 2);
	CU_ASSERT_TRUE(mf.entries > 500);
	char dir[64];
	copy_v1(dir);
	struct raw r = raw_read(dir);
	CU_ASSERT_EQUAL(r.format, 1);
	CU_ASSERT_EQUAL(r.deleting_markers, 1);
	CU_ASSERT_FALSE(r.has_tombstones_table);
	CU_ASSERT_TRUE(r.entries > mf.entries); /* the cut-short deletion's rows */
	open_and_check(dir, &mf);
	tsu_rmrf(dir);
	manifest_free(&mf);
}

/* Format 1 had marked a crashed scan interrupted with zero totals: the migration counts them. */
static void test_v1_interrupted_scan_gets_totals(void)
{
	struct manifest mf;
	CU_ASSERT_EQUAL_FATAL(manifest_load(&mf), 0);
	char dir[64];
	copy_v1(dir);
	mark_scan4_interrupted_v1(dir);
	CU_ASSERT_EQUAL(raw_read(dir).scan4_state, SCAN_INTERRUPTED);
	open_and_check(dir, &mf);
	tsu_rmrf(dir);
	manifest_free(&mf);
}

static void kill_before_commit(void *ctx)
{
	(void)ctx;
	raise(SIGKILL);
}

/* Killed before the migration commits: the file is byte for byte the old one, and migrates. */
static void test_crash_before_migration_commit(void)
{
	struct manifest mf;
	CU_ASSERT_EQUAL_FATAL(manifest_load(&mf), 0);
	char dir[64], path[128], orig[4096];
	copy_v1(dir);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct store_opts o = {.dir = dir, .test_before_recover_commit = kill_before_commit};
		struct store *s;
		struct errbuf err = {0};
		store_open(&s, &o, &err);
		_exit(3); /* not reached: the hook kills */
	}
	int status;
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	snprintf(path, sizeof(path), "%s/leindex.mdb", dir);
	CU_ASSERT_TRUE(same_bytes(path, data_path(orig, sizeof(orig), "leindex.mdb")));
	struct raw r = raw_read(dir);
	CU_ASSERT_EQUAL(r.format, 1);
	CU_ASSERT_EQUAL(r.deleting_markers, 1);
	CU_ASSERT_FALSE(r.has_tombstones_table);
	CU_ASSERT_EQUAL(r.scan4_state, SCAN_RUNNING);
	open_and_check(dir, &mf);
	tsu_rmrf(dir);
	manifest_free(&mf);
}

/* Sets meta "format" of a closed store to `format`. */
static void forge_format(const char *dir, uint64_t format)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/leindex.mdb", dir);
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(format >> (56 - 8 * i));
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	MDB_val k = {6, "format"}, v = {8, b};
	CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 8);
	CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, 0, &txn), 0);
	CU_ASSERT_EQUAL_FATAL(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	CU_ASSERT_EQUAL(mdb_put(txn, meta, &k, &v, 0), 0);
	CU_ASSERT_EQUAL(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_unreadable_formats_refused(void)
{
	char dir[64], want[512];
	store_close(tsu_open(tsu_tmpdir(dir), 0));
	struct store_opts o = {.dir = dir};
	struct errbuf err = {0};
	struct store *s = NULL;

	forge_format(dir, 0);
	CU_ASSERT_EQUAL(store_open(&s, &o, &err), -EPROTO);
	snprintf(want, sizeof(want),
		 "data directory %s has store format 0, older than this binary migrates (formats 1 "
		 "to %d): read it with the leindexd that wrote it, or delete the directory to start "
		 "over", dir, STORE_FORMAT_VERSION);
	CU_ASSERT_STRING_EQUAL(err.msg, want);

	forge_format(dir, STORE_FORMAT_VERSION + 1);
	CU_ASSERT_EQUAL(store_open(&s, &o, &err), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "newer than this binary's format"));
	CU_ASSERT_PTR_NULL(s);

	forge_format(dir, STORE_FORMAT_VERSION);
	CU_ASSERT_EQUAL(store_open(&s, &o, &err), 0);
	store_close(s);
	tsu_rmrf(dir);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"a format-1 store migrates with every scan, entry and error",
		 test_v1_store_migrates},
		{"format 1's interrupted scan gets its totals", test_v1_interrupted_scan_gets_totals},
		{"killed before the migration commits: the old file, then a migration",
		 test_crash_before_migration_commit},
		{"formats too old or too new are refused", test_unreadable_formats_refused},
		{NULL, NULL},
	};
	return unit_run("store migrate", tests);
}
