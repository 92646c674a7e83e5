/* scanignore.c: the ignore files a scan reads: each directory's .gitignore, the root's
 * .git/info/exclude.
 *
 * A file that cannot be used (unreadable, not a regular file, out of memory while parsing) does
 * not stop the scan: the reason is recorded as an error of the file's path, with the parser's
 * message when it has one ("line 12: ..."), and the directory is read without the file's rules.
 * A missing file is no error.
 */
#include "service/scan/scan_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Records an error of the file `name` in directory dir[0..dir_len). */
static void scanignore_error(struct scanner *sc, const char *dir, size_t dir_len, const char *name,
			     const char *op, int errnum, const char *detail)
{
	size_t name_len = strlen(name);
	char *path = malloc(dir_len + 1 + name_len + 1);
	if (!path) { /* name the directory, at least */
		scan_record_error(sc, dir, dir_len, op, errnum, detail);
		return;
	}
	size_t n = 0;
	if (dir_len) {
		memcpy(path, dir, dir_len);
		path[dir_len] = '/';
		n = dir_len + 1;
	}
	memcpy(path + n, name, name_len + 1);
	scan_record_error(sc, path, n + name_len, op, errnum, detail);
	free(path);
}

/* Reads the whole regular file open as `fd` into *text (the caller frees it). 0 or -errno; a file
 * that is not regular (a FIFO, a device) reads as absent: -ENOENT. `op` names what failed. */
static int scanignore_read(int fd, char **text, size_t *len, const char **op)
{
	struct stat st;
	*text = NULL;
	*len = 0;
	*op = "stat";
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	*op = "read";
	size_t cap = 0;
	for (;;) {
		if (*len + 4096 > cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *bigger = realloc(*text, ncap);
			if (!bigger)
				return -ENOMEM;
			*text = bigger;
			cap = ncap;
		}
		ssize_t n = read(fd, *text + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
}

/* "dir/name" into a new string (the rules' source label), or NULL when out of memory. */
static char *scanignore_label(const char *dir, size_t dir_len, const char *name)
{
	size_t name_len = strlen(name);
	char *label = malloc(dir_len + 1 + name_len + 1);
	if (!label)
		return NULL;
	size_t n = 0;
	if (dir_len) {
		memcpy(label, dir, dir_len);
		label[dir_len] = '/';
		n = dir_len + 1;
	}
	memcpy(label + n, name, name_len + 1);
	return label;
}

struct ignore_rules *scanignore_load(struct scanner *sc, int dirfd, const char *dir,
				     size_t dir_len, const char *name, enum ignore_source kind)
{
	/* O_NONBLOCK: a FIFO named .gitignore must not hang the worker on open. */
	int fd = scanfd_openat(sc, dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		/* Absent, a symlink (git does not follow it either), or .git is a file: no rules. */
		if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR)
			scanignore_error(sc, dir, dir_len, name, "open", errno, NULL);
		return NULL;
	}
	char *text;
	size_t len;
	const char *op;
	int rc = scanignore_read(fd, &text, &len, &op);
	scanfd_close(sc, fd);
	if (rc < 0) {
		if (rc != -ENOENT)
			scanignore_error(sc, dir, dir_len, name, op, -rc, NULL);
		free(text);
		return NULL;
	}
	struct ignore_rules *rules = NULL;
	struct errbuf err;
	errbuf_clear(&err);
	rc = ignore_rules_parse(&rules, text ? text : "", len, dir, dir_len, &err);
	free(text);
	if (rc < 0) {
		/* The parser's message says which line and what; the record's path says which file. */
		scanignore_error(sc, dir, dir_len, name, "parse", -rc > 0 ? -rc : EINVAL, err.msg);
		return NULL;
	}
	if (ignore_rules_count(rules) == 0) {
		ignore_rules_destroy(rules);
		return NULL;
	}
	char *label = kind == IGNORE_SRC_FILE ? scanignore_label(dir, dir_len, name) : NULL;
	if ((kind == IGNORE_SRC_FILE && !label) ||
	    ignore_rules_set_source(rules, kind, label ? label : "info/exclude") < 0) {
		scanignore_error(sc, dir, dir_len, name, "parse", ENOMEM, NULL);
		ignore_rules_destroy(rules);
		rules = NULL;
	}
	free(label);
	return rules;
}
