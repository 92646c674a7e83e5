/* auth.c: bearer tokens checked against the operator's token file (see auth.h). */
#include "api/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/encode.h"
#include "base/random.h"
#include "base/readfile.h"

/* Largest token file read (10,000 lines of about 140 bytes fit with room to spare). */
#define API_AUTH_FILE_MAX (4 << 20)

struct api_auth {
	char *path; /**< NULL: access control off */
	pthread_rwlock_t lock; /**< guards entries/count: readers check, SIGHUP swaps */
	struct api_auth_entry *entries;
	size_t count;
};

static bool api_auth_id_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool api_auth_id_ok(const char *s, size_t n)
{
	if (n == 0 || n > API_AUTH_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!api_auth_id_char((unsigned char)s[i]))
			return false;
	return true;
}

static int api_auth_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The next field of a line: skips blanks, returns its start and length (0 at the end). */
static const char *api_auth_field(const char **p, const char *end, size_t *n)
{
	const char *s = *p;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	const char *e = s;
	while (e < end && *e != ' ' && *e != '\t')
		e++;
	*p = e;
	*n = (size_t)(e - s);
	return s;
}

/* Parses one line that holds something (no comment, no blank); 0 or -EINVAL with the reason. */
static int api_auth_line(const char *s, const char *end, struct api_auth_entry *e, const char **why)
{
	size_t n;
	const char *f = api_auth_field(&s, end, &n);
	if (!api_auth_id_ok(f, n)) {
		*why = "the ID must be 1 to 64 characters of A-Z a-z 0-9 . _ -";
		return -EINVAL;
	}
	memcpy(e->id, f, n);
	e->id[n] = '\0';
	f = api_auth_field(&s, end, &n);
	if (n == 4 && memcmp(f, "read", 4) == 0)
		e->scope = API_AUTH_READ;
	else if (n == 5 && memcmp(f, "write", 5) == 0)
		e->scope = API_AUTH_WRITE;
	else {
		*why = "the scope must be read or write";
		return -EINVAL;
	}
	f = api_auth_field(&s, end, &n);
	if (n != 7 + 64 || memcmp(f, "sha256:", 7) != 0) {
		*why = "the third field must be sha256: and the 64 hex digits of the token's SHA-256";
		return -EINVAL;
	}
	for (size_t i = 0; i < 32; i++) {
		int hi = api_auth_hexval((unsigned char)f[7 + 2 * i]);
		int lo = api_auth_hexval((unsigned char)f[8 + 2 * i]);
		if (hi < 0 || lo < 0) {
			*why = "the digest holds a character that is not a hex digit";
			return -EINVAL;
		}
		e->digest[i] = (unsigned char)(hi << 4 | lo);
	}
	api_auth_field(&s, end, &n);
	if (n) {
		*why = "a line has three fields: ID SCOPE sha256:HEX";
		return -EINVAL;
	}
	return 0;
}

/* Orders entries by ID, then by line, so that a repeated ID sits next to its first use. */
static int api_auth_cmp_id(const void *a, const void *b)
{
	const struct api_auth_entry *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int api_auth_cmp_line(const void *a, const void *b)
{
	const struct api_auth_entry *x = a, *y = b;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * Refuses a file that uses an ID twice, naming the later line: sorted by ID, a repeat is a
 * neighbour (n log n, whatever the IDs share). The entries keep the file's order.
 */
static int api_auth_unique(struct api_auth_entry *e, size_t n, const char *path, struct errbuf *err)
{
	if (n < 2)
		return 0;
	qsort(e, n, sizeof(*e), api_auth_cmp_id);
	size_t dup = n;
	for (size_t i = 1; i < n; i++)
		if (strcmp(e[i - 1].id, e[i].id) == 0 && (dup == n || e[i].line < e[dup].line))
			dup = i;
	if (dup < n)
		return errbuf_set(err, -EINVAL, "%s line %zu: the ID '%s' is already used", path,
				  e[dup].line, e[dup].id);
	qsort(e, n, sizeof(*e), api_auth_cmp_line);
	return 0;
}

int api_auth_parse(const char *text, size_t len, const char *path, struct api_auth_entry **entries,
		   size_t *count, struct errbuf *err)
{
	*entries = NULL;
	*count = 0;
	struct api_auth_entry *out = NULL;
	size_t n = 0, cap = 0, lineno = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *stop = eol ? eol : end;
		lineno++;
		const char *hash = memchr(p, '#', (size_t)(stop - p));
		const char *cut = hash ? hash : stop;
		while (cut > p && (cut[-1] == '\r' || cut[-1] == ' ' || cut[-1] == '\t'))
			cut--;
		const char *s = p;
		while (s < cut && (*s == ' ' || *s == '\t'))
			s++;
		p = eol ? eol + 1 : end;
		if (s == cut)
			continue;
		if (memchr(s, '\0', (size_t)(cut - s))) {
			free(out);
			return errbuf_set(err, -EINVAL, "%s line %zu: holds a NUL byte", path, lineno);
		}
		if (n == API_AUTH_LINES_MAX) {
			free(out);
			return errbuf_set(err, -EINVAL, "%s: more than %d tokens", path, API_AUTH_LINES_MAX);
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct api_auth_entry *bigger = realloc(out, ncap * sizeof(*out));
			if (!bigger) {
				free(out);
				return errbuf_errno(err, ENOMEM, "reading %s", path);
			}
			out = bigger;
			cap = ncap;
		}
		const char *why = NULL;
		if (api_auth_line(s, cut, &out[n], &why) < 0) {
			free(out);
			return errbuf_set(err, -EINVAL, "%s line %zu: %s", path, lineno, why);
		}
		out[n].line = lineno;
		n++;
	}
	if (api_auth_unique(out, n, path, err) < 0) {
		free(out);
		return -EINVAL;
	}
	*entries = out;
	*count = n;
	return 0;
}

/* Reads and parses the file; a file without tokens is refused. */
static int api_auth_load(const char *path, struct api_auth_entry **entries, size_t *count,
			 struct errbuf *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc = readfile_at(AT_FDCWD, path, 0, API_AUTH_FILE_MAX, &text, &len, err);
	if (rc < 0)
		return errbuf_prefix(err, "the token file");
	rc = api_auth_parse(text ? text : "", len, path, entries, count, err);
	free(text);
	if (rc == 0 && *count == 0)
		rc = errbuf_set(err, -EINVAL, "the token file %s holds no token line (ID SCOPE sha256:HEX): "
				"make one with `leindexd token new --id NAME --scope read|write`", path);
	return rc;
}

int api_auth_create(struct api_auth **out, const char *path, struct errbuf *err)
{
	*out = NULL;
	struct api_auth *a = calloc(1, sizeof(*a));
	if (!a)
		return errbuf_errno(err, ENOMEM, "setting up access control");
	int rc = pthread_rwlock_init(&a->lock, NULL);
	if (rc != 0) {
		free(a);
		return errbuf_errno(err, rc, "setting up access control");
	}
	if (path) {
		a->path = strdup(path);
		if (!a->path) {
			api_auth_destroy(a);
			return errbuf_errno(err, ENOMEM, "setting up access control");
		}
		rc = api_auth_load(path, &a->entries, &a->count, err);
		if (rc < 0) {
			api_auth_destroy(a);
			return rc;
		}
	}
	*out = a;
	return 0;
}

bool api_auth_enabled(const struct api_auth *a)
{
	return a && a->path;
}

size_t api_auth_count(struct api_auth *a)
{
	pthread_rwlock_rdlock(&a->lock);
	size_t n = a->count;
	pthread_rwlock_unlock(&a->lock);
	return n;
}

int api_auth_reload(struct api_auth *a, struct errbuf *err)
{
	if (!api_auth_enabled(a))
		return 0;
	struct api_auth_entry *entries = NULL;
	size_t count = 0;
	int rc = api_auth_load(a->path, &entries, &count, err);
	if (rc < 0)
		return rc;
	pthread_rwlock_wrlock(&a->lock);
	struct api_auth_entry *old = a->entries;
	a->entries = entries;
	a->count = count;
	pthread_rwlock_unlock(&a->lock);
	free(old);
	return 0;
}

/* The token of `Bearer TOKEN` (scheme case-insensitive, RFC 9110); NULL when malformed. */
static const char *api_auth_bearer(const char *h, size_t *len)
{
	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return NULL;
	const char *t = h + 7;
	while (*t == ' ' || *t == '\t')
		t++;
	size_t n = strlen(t);
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	if (n == 0)
		return NULL;
	*len = n;
	return t;
}

enum api_auth_result api_auth_check(struct api_auth *a, const char *header,
				    enum api_auth_scope *scope, char *id)
{
	*scope = API_AUTH_NONE;
	id[0] = '\0';
	if (!api_auth_enabled(a)) {
		*scope = API_AUTH_WRITE;
		return API_AUTH_OK;
	}
	if (!header)
		return API_AUTH_MISSING;
	size_t tlen = 0;
	const char *tok = strnlen(header, API_AUTH_HEADER_MAX + 1) <= API_AUTH_HEADER_MAX
				  ? api_auth_bearer(header, &tlen) : NULL;
	if (!tok)
		return API_AUTH_INVALID;
	unsigned char d[32];
	unsigned int dlen = 0;
	if (EVP_Digest(tok, tlen, d, &dlen, EVP_sha256(), NULL) != 1 || dlen != sizeof(d))
		return API_AUTH_INVALID;
	pthread_rwlock_rdlock(&a->lock);
	/* Every line is compared, matched or not, so timing says nothing about which one matched. */
	size_t hit = a->count;
	for (size_t i = 0; i < a->count; i++)
		if (CRYPTO_memcmp(d, a->entries[i].digest, sizeof(d)) == 0)
			hit = i;
	bool ok = hit < a->count;
	if (ok) {
		*scope = a->entries[hit].scope;
		memcpy(id, a->entries[hit].id, sizeof(a->entries[hit].id));
	}
	pthread_rwlock_unlock(&a->lock);
	return ok ? API_AUTH_OK : API_AUTH_INVALID;
}

int api_auth_mint(const char *id, const char *scope, char *token, size_t token_cap, char *line,
		  size_t line_cap, struct errbuf *err)
{
	if (!id || !api_auth_id_ok(id, strlen(id)))
		return errbuf_set(err, -EINVAL, "--id: expected 1 to %d characters of A-Z a-z 0-9 . _ -, got '%s'",
				  API_AUTH_ID_MAX, id ? id : "");
	if (!scope || (strcmp(scope, "read") != 0 && strcmp(scope, "write") != 0))
		return errbuf_set(err, -EINVAL, "--scope: expected read or write, got '%s'", scope ? scope : "");
	unsigned char raw[32];
	int rc = random_fill(raw, sizeof(raw));
	if (rc < 0)
		return errbuf_errno(err, -rc, "reading random bytes from the OS");
	char b64[ENCODE_BASE64URL_LEN(sizeof(raw)) + 1];
	size_t n = encode_base64url(raw, sizeof(raw), b64);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (token_cap < n + 5 || line_cap < 192)
		return errbuf_set(err, -ENOSPC, "minting a token: buffers too small");
	snprintf(token, token_cap, "lxd_%.*s", (int)n, b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	unsigned char d[32];
	unsigned int dlen = 0;
	if (EVP_Digest(token, strlen(token), d, &dlen, EVP_sha256(), NULL) != 1)
		return errbuf_set(err, -EIO, "minting a token: SHA-256 failed");
	int off = snprintf(line, line_cap, "%s %s sha256:", id, scope);
	line[(size_t)off + encode_hex(d, sizeof(d), line + off, ENCODE_HEX_LOWER)] = '\0';
	return 0;
}

void api_auth_destroy(struct api_auth *a)
{
	if (!a)
		return;
	pthread_rwlock_destroy(&a->lock);
	free(a->entries);
	free(a->path);
	free(a);
}
