/*
 * fuzz_auth.c: the token file parser and the Authorization header check (api/auth.h). The file
 * is the operator's, the header any client's: neither may crash the service or cost more than
 * linear time, and no header but `Bearer TOKEN` with a token of the file may pass.
 *
 * fuzz-options: -max_len=4096 -timeout=5
 *
 * Every input is used twice:
 *  - as the text of a token file (api_auth_parse()). Accepted: it holds one entry per line that
 *    is neither blank nor a comment (counted independently), and printing the entries again,
 *    canonically or with tabs, upper-case hex, comments and CRLF, parses to the same entries.
 *    Refused: -EINVAL with no entries and a message naming the file and the line (or the
 *    limit).
 *  - up to its first NUL, as an Authorization header checked against a file of two tokens made
 *    once per process (LLVMFuzzerInitialize()): it passes exactly when it is `Bearer` (any case),
 *    blanks, one of the tokens, optional blanks, at most API_AUTH_HEADER_MAX bytes in all, with
 *    that token's ID and scope; with access control off everything passes as write.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/auth.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_AUTH_PATH "fuzz.tokens"

/* The tokens of the file LLVMFuzzerInitialize() writes (the seeds use them). */
static const struct {
	const char *id, *scope, *token;
	enum api_auth_scope s;
} fuzz_auth_tokens[] = {
	{"reader", "read", "lxd_fuzz-reader-token", API_AUTH_READ},
	{"ci.writer_2", "write", "lxd_fuzz-writer-token", API_AUTH_WRITE},
};
#define FUZZ_AUTH_TOKENS (sizeof(fuzz_auth_tokens) / sizeof(fuzz_auth_tokens[0]))

/* Set once by LLVMFuzzerInitialize(), then only read: the file above, and access control off. */
static struct api_auth *fuzz_auth_on, *fuzz_auth_off;

static void fuzz_auth_hex(const unsigned char *d, bool upper, char out[65])
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[64] = '\0';
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/fuzz_auth.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	FUZZ_CHECK(fd >= 0, "creating %s: %s", path, strerror(errno));
	FILE *f = fdopen(fd, "w");
	FUZZ_CHECK(f != NULL, "fdopen: %s", strerror(errno));
	fprintf(f, "# made by fuzz_auth\n");
	for (size_t i = 0; i < FUZZ_AUTH_TOKENS; i++) {
		unsigned char d[32];
		unsigned int dlen = 0;
		const char *t = fuzz_auth_tokens[i].token;
		FUZZ_CHECK(EVP_Digest(t, strlen(t), d, &dlen, EVP_sha256(), NULL) == 1, "SHA-256");
		char hex[65];
		fuzz_auth_hex(d, false, hex);
		fprintf(f, "%s %s sha256:%s\n", fuzz_auth_tokens[i].id, fuzz_auth_tokens[i].scope, hex);
	}
	FUZZ_CHECK(fclose(f) == 0, "writing %s", path);
	struct errbuf err = {0};
	int rc = api_auth_create(&fuzz_auth_on, path, &err);
	unlink(path);
	FUZZ_CHECK(rc == 0, "api_auth_create: %s", err.msg);
	FUZZ_CHECK(api_auth_count(fuzz_auth_on) == FUZZ_AUTH_TOKENS, "tokens in force");
	FUZZ_CHECK(api_auth_create(&fuzz_auth_off, NULL, &err) == 0, "api_auth_create(NULL): %s",
		   err.msg);
	return 0;
}

/* The lines of `text` that hold something once comments, blanks and a CR are dropped. */
static size_t fuzz_auth_lines(const char *text, size_t len)
{
	size_t n = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *stop = eol ? eol : end;
		bool something = false;
		for (const char *c = p; c < stop && *c != '#'; c++)
			if (*c != ' ' && *c != '\t' && !(*c == '\r'))
				something = true;
		n += something;
		p = eol ? eol + 1 : end;
	}
	return n;
}

static bool fuzz_auth_same(const struct api_auth_entry *a, size_t an,
			   const struct api_auth_entry *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (strcmp(a[i].id, b[i].id) != 0 || a[i].scope != b[i].scope ||
		    memcmp(a[i].digest, b[i].digest, 32) != 0)
			return false;
	return true;
}

/* Prints `e` as a token file: canonically, or with tabs, comments, upper-case hex and CRLF. */
static char *fuzz_auth_print(const struct api_auth_entry *e, size_t n, bool fancy, size_t *len)
{
	size_t cap = 64 + n * (API_AUTH_ID_MAX + 120);
	char *text = fuzz_alloc(cap);
	size_t used = 0;
	if (fancy)
		used += (size_t)snprintf(text, cap, "# rotated\r\n\r\n \t\n");
	for (size_t i = 0; i < n; i++) {
		char hex[65];
		fuzz_auth_hex(e[i].digest, fancy, hex);
		const char *scope = e[i].scope == API_AUTH_READ ? "read" : "write";
		used += (size_t)snprintf(text + used, cap - used,
					 fancy ? "\t%s \t%s  sha256:%s\t# line %zu #\r\n"
					       : "%s %s sha256:%s\n",
					 e[i].id, scope, hex, i);
	}
	FUZZ_CHECK(used < cap, "printing %zu entries", n);
	*len = used;
	return text;
}

static void fuzz_auth_parse(const char *text, size_t len)
{
	struct api_auth_entry *e = (struct api_auth_entry *)1;
	size_t n = 7;
	struct errbuf err = {0};
	int rc = api_auth_parse(text, len, FUZZ_AUTH_PATH, &e, &n, &err);
	if (rc < 0) {
		FUZZ_CHECK(rc == -EINVAL, "api_auth_parse returned %d", rc);
		FUZZ_CHECK(!e && n == 0, "a refused file leaves entries");
		FUZZ_CHECK(strncmp(err.msg, FUZZ_AUTH_PATH, strlen(FUZZ_AUTH_PATH)) == 0 &&
				   (strstr(err.msg, " line ") || strstr(err.msg, "more than")),
			   "the message does not name the file and the line: %s", err.msg);
		return;
	}
	FUZZ_CHECK(n == fuzz_auth_lines(text, len), "%zu entries from %zu lines", n,
		   fuzz_auth_lines(text, len));
	FUZZ_CHECK((n == 0) == (e == NULL), "%zu entries at %p", n, (void *)e);
	for (size_t i = 0; i < n; i++) {
		size_t idlen = strnlen(e[i].id, sizeof(e[i].id));
		FUZZ_CHECK(idlen > 0 && idlen <= API_AUTH_ID_MAX &&
				   strspn(e[i].id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						   "0123456789._-") == idlen,
			   "entry %zu has the ID '%s'", i, e[i].id);
		FUZZ_CHECK(e[i].scope == API_AUTH_READ || e[i].scope == API_AUTH_WRITE,
			   "entry %zu has scope %d", i, (int)e[i].scope);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(e[i].id, e[j].id) != 0, "ID '%s' twice", e[i].id);
	}
	for (int fancy = 0; fancy < 2; fancy++) {
		size_t plen;
		char *printed = fuzz_auth_print(e, n, fancy, &plen);
		struct api_auth_entry *again = NULL;
		size_t m = 0;
		rc = api_auth_parse(printed, plen, FUZZ_AUTH_PATH, &again, &m, &err);
		FUZZ_CHECK(rc == 0, "the entries printed again are refused: %s", err.msg);
		FUZZ_CHECK(fuzz_auth_same(e, n, again, m), "the entries printed again differ");
		free(again);
		free(printed);
	}
	free(e);
}

/* Which token of the file `header` carries, by the rules of auth.h; -1 for none. */
static int fuzz_auth_expect(const char *header)
{
	size_t len = strlen(header);
	if (len > API_AUTH_HEADER_MAX || len < 7 || strncasecmp(header, "bearer", 6) != 0 ||
	    (header[6] != ' ' && header[6] != '\t'))
		return -1;
	const char *t = header + 7;
	size_t n = len - 7;
	while (n && (*t == ' ' || *t == '\t'))
		t++, n--;
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < FUZZ_AUTH_TOKENS; i++)
		if (strlen(fuzz_auth_tokens[i].token) == n &&
		    memcmp(fuzz_auth_tokens[i].token, t, n) == 0)
			return (int)i;
	return -1;
}

static void fuzz_auth_check(const char *header)
{
	enum api_auth_scope scope = (enum api_auth_scope)77;
	char id[API_AUTH_ID_MAX + 1];
	memset(id, 'x', sizeof(id));
	enum api_auth_result r = api_auth_check(fuzz_auth_on, header, &scope, id);
	int want = fuzz_auth_expect(header);
	if (want < 0) {
		FUZZ_CHECK(r == API_AUTH_INVALID, "'%s' answers %d", header, (int)r);
		FUZZ_CHECK(scope == API_AUTH_NONE && id[0] == '\0', "a refused header has a scope");
	} else {
		FUZZ_CHECK(r == API_AUTH_OK, "'%s' is refused (%d)", header, (int)r);
		FUZZ_CHECK(scope == fuzz_auth_tokens[want].s &&
				   strcmp(id, fuzz_auth_tokens[want].id) == 0,
			   "'%s' passes as '%.*s' scope %d", header, API_AUTH_ID_MAX, id, (int)scope);
	}
	FUZZ_CHECK(api_auth_check(fuzz_auth_on, NULL, &scope, id) == API_AUTH_MISSING,
		   "no header is not missing");
	FUZZ_CHECK(api_auth_check(fuzz_auth_off, header, &scope, id) == API_AUTH_OK &&
			   scope == API_AUTH_WRITE && id[0] == '\0',
		   "access control off refuses '%s'", header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_alloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_auth_parse(text, size);
	fuzz_auth_check(text);
	free(text);
	return 0;
}
