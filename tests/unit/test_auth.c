/* test_auth.c: the token file's syntax, bearer checks, rotation and minted tokens. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/auth.h"
#include "tests/unit/unit.h"

/* The sha256: field of a token, as `printf %s TOKEN | sha256sum` prints it. */
static void digest_hex(const char *token, char out[65])
{
	unsigned char d[32];
	unsigned int n = 0;
	CU_ASSERT_FATAL(EVP_Digest(token, strlen(token), d, &n, EVP_sha256(), NULL) == 1);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static char *write_file(const char *text)
{
	char *path = strdup("/tmp/leindex-auth-XXXXXX");
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_parse_lines(void)
{
	char hex[65], text[512];
	digest_hex("secret-1", hex);
	snprintf(text, sizeof(text),
		 "# tokens of the team\n\n  ci read sha256:%s  # the CI\r\nadmin\twrite\tsha256:%s\n", hex, hex);
	struct api_auth_entry *e = NULL;
	size_t n = 0;
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL_FATAL(api_auth_parse(text, strlen(text), "tokens", &e, &n, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(e[0].id, "ci");
	CU_ASSERT_EQUAL(e[0].scope, API_AUTH_READ);
	CU_ASSERT_STRING_EQUAL(e[1].id, "admin");
	CU_ASSERT_EQUAL(e[1].scope, API_AUTH_WRITE);
	free(e);
}

/* Each broken line is refused with its line number and the reason. */
static void test_parse_errors(void)
{
	char hex[65];
	digest_hex("x", hex);
	struct {
		const char *fmt, *want;
	} cases[] = {
		{"\nci admin sha256:%s\n", "tokens line 2: the scope must be read or write"},
		{"c!i read sha256:%s\n", "tokens line 1: the ID must be"},
		{"ci read md5:%s\n", "tokens line 1: the third field must be sha256:"},
		{"ci read sha256:%.63s\n", "tokens line 1: the third field must be sha256:"},
		{"ci read sha256:%.63sg\n", "tokens line 1: the digest holds a character"},
		{"ci read sha256:%s extra\n", "tokens line 1: a line has three fields"},
		{"ci read sha256:%1$s\nci write sha256:%1$s\n", "tokens line 2: the ID 'ci' is already used"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), cases[i].fmt, hex);
		struct api_auth_entry *e = NULL;
		size_t n = 0;
		struct errbuf err;
		errbuf_clear(&err);
		CU_ASSERT(api_auth_parse(text, strlen(text), "tokens", &e, &n, &err) < 0);
		CU_ASSERT(strncmp(err.msg, cases[i].want, strlen(cases[i].want)) == 0);
		if (strncmp(err.msg, cases[i].want, strlen(cases[i].want)) != 0)
			fprintf(stderr, "case %zu: got '%s', want '%s...'\n", i, err.msg, cases[i].want);
		CU_ASSERT_PTR_NULL(e);
	}
}

static void test_check_and_rotate(void)
{
	char hex1[65], hex2[65], text[512];
	digest_hex("tok-read", hex1);
	digest_hex("tok-write", hex2);
	snprintf(text, sizeof(text), "r read sha256:%s\nw write sha256:%s\n", hex1, hex2);
	char *path = write_file(text);
	struct api_auth *a = NULL;
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL_FATAL(api_auth_create(&a, path, &err), 0);
	CU_ASSERT_TRUE(api_auth_enabled(a));
	enum api_auth_scope scope;
	char id[API_AUTH_ID_MAX + 1];
	CU_ASSERT_EQUAL(api_auth_check(a, "Bearer tok-read", &scope, id), API_AUTH_OK);
	CU_ASSERT_EQUAL(scope, API_AUTH_READ);
	CU_ASSERT_STRING_EQUAL(id, "r");
	CU_ASSERT_EQUAL(api_auth_check(a, "bearer   tok-write ", &scope, id), API_AUTH_OK);
	CU_ASSERT_EQUAL(scope, API_AUTH_WRITE);
	CU_ASSERT_STRING_EQUAL(id, "w");
	CU_ASSERT_EQUAL(api_auth_check(a, NULL, &scope, id), API_AUTH_MISSING);
	CU_ASSERT_EQUAL(api_auth_check(a, "Bearer tok-rea", &scope, id), API_AUTH_INVALID);
	CU_ASSERT_EQUAL(api_auth_check(a, "Basic dG9rLXJlYWQ=", &scope, id), API_AUTH_INVALID);
	CU_ASSERT_EQUAL(api_auth_check(a, "Bearertok-read", &scope, id), API_AUTH_INVALID);
	CU_ASSERT_EQUAL(api_auth_check(a, "Bearer ", &scope, id), API_AUTH_INVALID);
	CU_ASSERT_EQUAL(scope, API_AUTH_NONE);

	/* Rotation: the new file replaces the old tokens; a broken file keeps them. */
	snprintf(text, sizeof(text), "w2 write sha256:%s\n", hex1);
	FILE *f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
	CU_ASSERT_EQUAL(api_auth_reload(a, &err), 0);
	CU_ASSERT_EQUAL(api_auth_count(a), 1);
	CU_ASSERT_EQUAL(api_auth_check(a, "Bearer tok-write", &scope, id), API_AUTH_INVALID);
	CU_ASSERT_EQUAL(api_auth_check(a, "Bearer tok-read", &scope, id), API_AUTH_OK);
	CU_ASSERT_EQUAL(scope, API_AUTH_WRITE);
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("w2 write sha256:nothex\n", f);
	fclose(f);
	CU_ASSERT(api_auth_reload(a, &err) < 0);
	CU_ASSERT(strstr(err.msg, "line 1") != NULL);
	CU_ASSERT_EQUAL(api_auth_check(a, "Bearer tok-read", &scope, id), API_AUTH_OK);
	api_auth_destroy(a);
	unlink(path);
	free(path);
}

static void test_empty_file_refused(void)
{
	char *path = write_file("# nothing yet\n");
	struct api_auth *a = NULL;
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT(api_auth_create(&a, path, &err) < 0);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT(strstr(err.msg, "holds no token line") != NULL);
	CU_ASSERT(api_auth_create(&a, "/nonexistent/tokens", &err) < 0);
	CU_ASSERT(strstr(err.msg, "/nonexistent/tokens") != NULL);
	unlink(path);
	free(path);
	/* No file: access control off, every request may write. */
	CU_ASSERT_EQUAL_FATAL(api_auth_create(&a, NULL, &err), 0);
	CU_ASSERT_FALSE(api_auth_enabled(a));
	enum api_auth_scope scope;
	char id[API_AUTH_ID_MAX + 1];
	CU_ASSERT_EQUAL(api_auth_check(a, NULL, &scope, id), API_AUTH_OK);
	CU_ASSERT_EQUAL(scope, API_AUTH_WRITE);
	api_auth_destroy(a);
}

/* A minted token checks against the line printed with it, and two mints differ. */
static void test_mint(void)
{
	char tok1[64], tok2[64], line1[192], line2[192];
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL_FATAL(api_auth_mint("ci", "read", tok1, sizeof(tok1), line1, sizeof(line1), &err), 0);
	CU_ASSERT_EQUAL_FATAL(api_auth_mint("ci2", "write", tok2, sizeof(tok2), line2, sizeof(line2), &err), 0);
	CU_ASSERT_STRING_NOT_EQUAL(tok1, tok2);
	CU_ASSERT_EQUAL(strlen(tok1), 4 + 43);
	CU_ASSERT(strncmp(tok1, "lxd_", 4) == 0);
	char hex[65], want[192];
	digest_hex(tok1, hex);
	snprintf(want, sizeof(want), "ci read sha256:%s", hex);
	CU_ASSERT_STRING_EQUAL(line1, want);
	char text[512];
	snprintf(text, sizeof(text), "%s\n%s\n", line1, line2);
	char *path = write_file(text);
	struct api_auth *a = NULL;
	CU_ASSERT_EQUAL_FATAL(api_auth_create(&a, path, &err), 0);
	enum api_auth_scope scope;
	char id[API_AUTH_ID_MAX + 1], hdr[128];
	snprintf(hdr, sizeof(hdr), "Bearer %s", tok2);
	CU_ASSERT_EQUAL(api_auth_check(a, hdr, &scope, id), API_AUTH_OK);
	CU_ASSERT_STRING_EQUAL(id, "ci2");
	api_auth_destroy(a);
	unlink(path);
	free(path);
	CU_ASSERT(api_auth_mint("bad id", "read", tok1, sizeof(tok1), line1, sizeof(line1), &err) < 0);
	CU_ASSERT(strstr(err.msg, "--id") != NULL);
	CU_ASSERT(api_auth_mint("ok", "admin", tok1, sizeof(tok1), line1, sizeof(line1), &err) < 0);
	CU_ASSERT(strstr(err.msg, "--scope") != NULL);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"token file lines, comments and blanks", test_parse_lines},
		{"each broken line is refused with its number and reason", test_parse_errors},
		{"bearer checks by scope, and rotation keeps the old tokens on a broken file", test_check_and_rotate},
		{"a file without tokens is refused; no file turns access control off", test_empty_file_refused},
		{"minted tokens check against their printed line", test_mint},
		{NULL, NULL},
	};
	return unit_run("auth", tests);
}
