/* test_base.c: base/'s UTF-8 test, base64/base64url/hex coding, string buffer, whole-file reads,
 * signals and libraries opened at run time. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/dynlib.h"
#include "base/encode.h"
#include "base/random.h"
#include "base/signals.h"
#include "base/readfile.h"
#include "base/strbuf.h"
#include "base/utf8.h"
#include "tests/unit/unit.h"

/* ---------------------------------------------------------------- utf8 */

/* Byte strings a UTF-8 test gets wrong most often, with the answer RFC 3629 gives. */
static const struct {
	const char *bytes;
	size_t len;
	bool valid;
} utf8_cases[] = {
	{"", 0, true},
	{"plain ASCII", 11, true},
	{"a\0b", 3, true},                      /* NUL is a character */
	{"\xc3\xa9", 2, true},                  /* U+00E9 */
	{"\xe2\x82\xac", 3, true},              /* U+20AC */
	{"\xed\x9f\xbf", 3, true},              /* U+D7FF, just below the surrogates */
	{"\xee\x80\x80", 3, true},              /* U+E000, just above them */
	{"\xef\xbf\xbf", 3, true},              /* U+FFFF */
	{"\xf0\x90\x80\x80", 4, true},          /* U+10000 */
	{"\xf4\x8f\xbf\xbf", 4, true},          /* U+10FFFF, the last code point */
	{"\xc0\xaf", 2, false},                 /* '/' overlong in 2 bytes */
	{"\xc1\xbf", 2, false},                 /* overlong */
	{"\xe0\x80\xaf", 3, false},             /* '/' overlong in 3 bytes */
	{"\xe0\x9f\xbf", 3, false},             /* U+07FF overlong */
	{"\xf0\x80\x80\xaf", 4, false},         /* '/' overlong in 4 bytes */
	{"\xf0\x8f\xbf\xbf", 4, false},         /* U+FFFF overlong */
	{"\xc0\x80", 2, false},                 /* NUL overlong ("modified UTF-8") */
	{"\xed\xa0\x80", 3, false},             /* U+D800 */
	{"\xed\xbf\xbf", 3, false},             /* U+DFFF */
	{"\xed\xa0\xbd\xed\xb8\x80", 6, false}, /* a surrogate pair (CESU-8) */
	{"\xf4\x90\x80\x80", 4, false},         /* U+110000 */
	{"\xf5\x80\x80\x80", 4, false},         /* past f4 */
	{"\xf8\x88\x80\x80\x80", 5, false},     /* a 5-byte form */
	{"\xff", 1, false},
	{"\x80", 1, false},                     /* a lone continuation byte */
	{"a\xbf", 2, false},
	{"\xe2\x82", 2, false},                 /* truncated */
	{"\xf0\x9f\x98", 3, false},             /* truncated */
	{"\xc3", 1, false},                     /* truncated */
	{"\xe2\x28\xa1", 3, false},             /* a continuation replaced by ASCII */
	{"ok \xc3\xa9 then \xc3(", 13, false},
};

static void test_utf8_cases(void)
{
	for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		bool got = utf8_valid(utf8_cases[i].bytes, utf8_cases[i].len);
		CU_ASSERT_EQUAL(got, utf8_cases[i].valid);
		if (got != utf8_cases[i].valid)
			fprintf(stderr, "utf8 case %zu: got %d\n", i, got);
	}
}

/*
 * A second implementation written the other way round (decode the code point, then check its
 * range), as the oracle for every short byte string.
 */
static bool utf8_oracle(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (len == 0 || n - i < len)
			return false;
		uint32_t cp = len == 1 ? c : c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] >> 6) != 2)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static void test_utf8_exhaustive(void)
{
	unsigned long bad = 0;
	unsigned char b[4];
	/* Every string of one, two and three bytes. */
	for (uint32_t v = 0; v < (1u << 24); v++) {
		b[0] = (unsigned char)(v >> 16), b[1] = (unsigned char)(v >> 8), b[2] = (unsigned char)v;
		size_t n = v < 256 ? 1 : v < 65536 ? 2 : 3;
		const unsigned char *p = b + 3 - n;
		bad += utf8_valid((const char *)p, n) != utf8_oracle(p, n);
		bad += utf8_seq_len(p, n) == n && !utf8_oracle(p, n);
	}
	/* Four bytes: every lead and second byte, the edges of the continuation range after. */
	static const unsigned char tail[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
	for (unsigned l = 0; l < 256; l++)
		for (unsigned s = 0; s < 256; s++)
			for (size_t t = 0; t < sizeof(tail); t++)
				for (size_t u = 0; u < sizeof(tail); u++) {
					b[0] = (unsigned char)l, b[1] = (unsigned char)s;
					b[2] = tail[t], b[3] = tail[u];
					bad += utf8_valid((const char *)b, 4) != utf8_oracle(b, 4);
				}
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_utf8_seq_len(void)
{
	CU_ASSERT_EQUAL(utf8_seq_len((const unsigned char *)"A", 1), 1);
	CU_ASSERT_EQUAL(utf8_seq_len((const unsigned char *)"\xc3\xa9x", 3), 2);
	CU_ASSERT_EQUAL(utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 3), 3);
	CU_ASSERT_EQUAL(utf8_seq_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 4);
	CU_ASSERT_EQUAL(utf8_seq_len((const unsigned char *)"\xe2\x82\xac", 2), 0); /* cut short */
	CU_ASSERT_EQUAL(utf8_seq_len((const unsigned char *)"\xed\xa0\x80", 3), 0);
	CU_ASSERT_EQUAL(utf8_seq_len((const unsigned char *)"", 0), 0);
}

/* ---------------------------------------------------------------- encode */

static void test_base64_vectors(void)
{
	/* RFC 4648 section 10, then bytes whose encodings differ between the two alphabets. */
	static const struct {
		const char *in, *b64, *b64url;
	} v[] = {
		{"", "", ""},
		{"f", "Zg==", "Zg"},
		{"fo", "Zm8=", "Zm8"},
		{"foo", "Zm9v", "Zm9v"},
		{"foob", "Zm9vYg==", "Zm9vYg"},
		{"fooba", "Zm9vYmE=", "Zm9vYmE"},
		{"foobar", "Zm9vYmFy", "Zm9vYmFy"},
		{"\xfb\xff", "+/8=", "-_8"},
		{"\xfb\xef\xbe", "++++", "----"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = strlen(v[i].in);
		char out[32];
		memset(out, 'X', sizeof(out));
		CU_ASSERT_EQUAL(encode_base64(v[i].in, n, out), strlen(v[i].b64));
		CU_ASSERT_STRING_EQUAL(out, v[i].b64);
		CU_ASSERT_EQUAL(strlen(out), ENCODE_BASE64_LEN(n));
		memset(out, 'X', sizeof(out));
		CU_ASSERT_EQUAL(encode_base64url(v[i].in, n, out), strlen(v[i].b64url));
		CU_ASSERT_STRING_EQUAL(out, v[i].b64url);
		CU_ASSERT_EQUAL(strlen(out), ENCODE_BASE64URL_LEN(n));
		unsigned char back[32];
		size_t bl = 99;
		CU_ASSERT_EQUAL(decode_base64url(v[i].b64url, strlen(v[i].b64url), back, sizeof(back), &bl), 0);
		CU_ASSERT_EQUAL(bl, n);
		CU_ASSERT(memcmp(back, v[i].in, n) == 0);
	}
}

/* Standard base64 agrees with OpenSSL's, and base64url round-trips, at every length to 300. */
static void test_base64_random(void)
{
	srand(11);
	unsigned char in[300], back[300];
	char mine[ENCODE_BASE64_LEN(300) + 1], ossl[ENCODE_BASE64_LEN(300) + 1];
	for (size_t n = 0; n <= sizeof(in); n++) {
		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)rand();
		size_t ml = encode_base64(in, n, mine);
		int ol = EVP_EncodeBlock((unsigned char *)ossl, in, (int)n);
		CU_ASSERT_EQUAL(ml, (size_t)ol);
		CU_ASSERT_STRING_EQUAL(mine, ossl);
		size_t ul = encode_base64url(in, n, mine);
		size_t bl = 0;
		CU_ASSERT_EQUAL(decode_base64url(mine, ul, back, sizeof(back), &bl), 0);
		CU_ASSERT_EQUAL(bl, n);
		CU_ASSERT(memcmp(in, back, n) == 0);
	}
}

static void test_base64url_rejects(void)
{
	unsigned char out[8];
	size_t len = 77;
	CU_ASSERT_EQUAL(decode_base64url("A", 1, out, sizeof(out), &len), -EINVAL);     /* no length */
	CU_ASSERT_EQUAL(decode_base64url("Zm9vY", 5, out, sizeof(out), &len), -EINVAL); /* ditto */
	CU_ASSERT_EQUAL(decode_base64url("Zh", 2, out, sizeof(out), &len), -EINVAL);    /* 'f' spelled twice */
	CU_ASSERT_EQUAL(decode_base64url("Zm9=", 4, out, sizeof(out), &len), -EINVAL);  /* padding */
	CU_ASSERT_EQUAL(decode_base64url("Zm+v", 4, out, sizeof(out), &len), -EINVAL);  /* other alphabet */
	CU_ASSERT_EQUAL(decode_base64url("Zm\0v", 4, out, sizeof(out), &len), -EINVAL);
	CU_ASSERT_EQUAL(decode_base64url("Zm9v", 4, out, 2, &len), -ENOBUFS);
	CU_ASSERT_EQUAL(len, 77); /* untouched on failure */
	CU_ASSERT_EQUAL(decode_base64url("Zm9v", 4, out, 3, &len), 0);
	CU_ASSERT_EQUAL(len, 3);
}

static void test_hex(void)
{
	char out[16];
	memset(out, 'X', sizeof(out));
	CU_ASSERT_EQUAL(encode_hex("\x00\x9f\xab\xff", 4, out, ENCODE_HEX_LOWER), 8);
	CU_ASSERT_STRING_EQUAL(out, "009fabff");
	CU_ASSERT_EQUAL(encode_hex("\x00\x9f\xab\xff", 4, out, ENCODE_HEX_UPPER), 8);
	CU_ASSERT_STRING_EQUAL(out, "009FABFF");
	CU_ASSERT_EQUAL(encode_hex("", 0, out, ENCODE_HEX_LOWER), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	for (unsigned c = 0; c < 256; c++) {
		unsigned char b = (unsigned char)c;
		char want[3];
		snprintf(want, sizeof(want), "%02x", c);
		encode_hex(&b, 1, out, ENCODE_HEX_LOWER);
		CU_ASSERT_STRING_EQUAL(out, want);
	}
}

/* ---------------------------------------------------------------- strbuf */

static void test_strbuf_builds(void)
{
	struct strbuf sb;
	strbuf_init(&sb);
	char want[20000];
	size_t wl = 0;
	/* Pieces of every kind, past several doublings, checked against the same text built whole. */
	for (int i = 0; wl < 15000; i++) {
		switch (i % 4) {
		case 0:
			strbuf_putc(&sb, (char)('a' + i % 26));
			want[wl++] = (char)('a' + i % 26);
			break;
		case 1:
			strbuf_append(&sb, "x\0y", 3);
			memcpy(want + wl, "x\0y", 3);
			wl += 3;
			break;
		case 2:
			strbuf_puts(&sb, "piece ");
			memcpy(want + wl, "piece ", 6);
			wl += 6;
			break;
		default:
			strbuf_printf(&sb, "[%d:%*s]", i, i % 300, "");
			wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "[%d:%*s]", i, i % 300, "");
		}
		CU_ASSERT_EQUAL_FATAL(sb.len, wl);
		CU_ASSERT_EQUAL(sb.buf[sb.len], '\0'); /* NUL-terminated after every append */
	}
	CU_ASSERT(memcmp(sb.buf, want, wl) == 0);
	size_t len = 0;
	char *s = strbuf_take(&sb, &len);
	CU_ASSERT_EQUAL(len, wl);
	CU_ASSERT(s && memcmp(s, want, wl) == 0 && s[wl] == '\0');
	CU_ASSERT_PTR_NULL(sb.buf); /* empty again */
	CU_ASSERT_EQUAL(sb.len, 0);
	free(s);
}

static void test_strbuf_long_printf(void)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_puts(&sb, "head:");
	strbuf_printf(&sb, "%9000s|%d", "tail", 42); /* longer than the first allocation */
	CU_ASSERT_EQUAL(sb.len, 5 + 9000 + 3);
	CU_ASSERT(memcmp(sb.buf + 5 + 9000 - 4, "tail|42", 8) == 0);
	strbuf_free(&sb);
	strbuf_free(NULL);
}

static void test_strbuf_empty_take(void)
{
	struct strbuf sb;
	strbuf_init(&sb);
	size_t len = 9;
	char *s = strbuf_take(&sb, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "");
	CU_ASSERT_EQUAL(len, 0);
	free(s);
}

/* A size no allocator grants sets the sticky flag; later appends do nothing; take says NULL. */
static void test_strbuf_oom_sticks(void)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_puts(&sb, "kept");
	CU_ASSERT_FALSE(strbuf_reserve(&sb, SIZE_MAX - 2));
	CU_ASSERT_TRUE(sb.oom);
	CU_ASSERT_FALSE(strbuf_reserve(&sb, 1));
	strbuf_puts(&sb, "lost");
	strbuf_printf(&sb, "%d", 7);
	strbuf_putc(&sb, '!');
	CU_ASSERT_EQUAL(sb.len, 4);
	size_t len = 5;
	CU_ASSERT_PTR_NULL(strbuf_take(&sb, &len));
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT_FALSE(sb.oom); /* take leaves it empty and usable */
	CU_ASSERT_PTR_NULL(sb.buf);
	strbuf_puts(&sb, "again");
	CU_ASSERT_STRING_EQUAL(sb.buf, "again");
	strbuf_free(&sb);
}

/* ---------------------------------------------------------------- readfile */

static void test_readfile_sizes(void)
{
	char dir[] = "/tmp/leindex-test-readfile-XXXXXX";
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/f", dir);
	static const size_t sizes[] = {0, 1, 4094, 4095, 4096, 4097, 100000};
	unsigned char *data = malloc(100000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	for (size_t i = 0; i < 100000; i++)
		data[i] = (unsigned char)(i * 7 + i / 256); /* NULs included */
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_FATAL(write(fd, data, sizes[k]) == (ssize_t)sizes[k]);
		close(fd);
		char *text = NULL;
		size_t len = 1;
		struct errbuf err;
		errbuf_clear(&err);
		CU_ASSERT_EQUAL(readfile_at(AT_FDCWD, path, 0, 100000, &text, &len, &err), 0);
		CU_ASSERT_EQUAL(len, sizes[k]);
		CU_ASSERT(text && memcmp(text, data, len) == 0 && text[len] == '\0');
		free(text);
		/* One byte under the size is refused, and nothing is handed out. */
		if (sizes[k] > 0) {
			text = (char *)1;
			CU_ASSERT_EQUAL(readfile_at(AT_FDCWD, path, 0, sizes[k] - 1, &text, &len, &err), -EFBIG);
			CU_ASSERT_PTR_NULL(text);
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
		}
	}
	free(data);
	unlink(path);
	rmdir(dir);
}

static void test_readfile_errors(void)
{
	char *text;
	size_t len;
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL(readfile_at(AT_FDCWD, "/nonexistent/leindex-readfile", 0, 10, &text, &len, &err),
			-ENOENT);
	CU_ASSERT_STRING_EQUAL(err.msg, "opening /nonexistent/leindex-readfile: No such file or directory");
	CU_ASSERT_PTR_NULL(text);
	errbuf_clear(&err);
	CU_ASSERT_EQUAL(readfile_at(AT_FDCWD, "/", 0, 10, &text, &len, &err), -EISDIR);
	CU_ASSERT_STRING_EQUAL(err.msg, "reading /: Is a directory");
	CU_ASSERT_EQUAL(readfile_at(AT_FDCWD, "/", 0, 10, &text, &len, NULL), -EISDIR); /* no err */
}

/* /proc files say they are empty (st_size 0) yet have text; pipes come in pieces. */
static void test_readfile_streams(void)
{
	char *text = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL(readfile_at(AT_FDCWD, "/proc/self/stat", 0, 1 << 20, &text, &len, NULL), 0);
	CU_ASSERT(len > 20 && text && strchr(text, ')') != NULL);
	free(text);
	int p[2];
	CU_ASSERT_FATAL(pipe(p) == 0);
	char chunk[1000];
	memset(chunk, 'p', sizeof(chunk));
	for (int i = 0; i < 30; i++)
		CU_ASSERT_FATAL(write(p[1], chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk));
	close(p[1]);
	CU_ASSERT_EQUAL(readfile_fd(p[0], 1 << 20, &text, &len), 0);
	close(p[0]);
	CU_ASSERT_EQUAL(len, 30000);
	CU_ASSERT(text && text[0] == 'p' && text[29999] == 'p' && text[30000] == '\0');
	free(text);
}

/* ---------------------------------------------------------------- random, signals */

static void test_random_fill(void)
{
	unsigned char a[64], b[64], zero[64] = {0};
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	CU_ASSERT_EQUAL(random_fill(a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(random_fill(b, sizeof(b)), 0);
	/* 512 random bits: equal buffers or an all-zero one mean the bytes were not filled. */
	CU_ASSERT(memcmp(a, b, sizeof(a)) != 0);
	CU_ASSERT(memcmp(a, zero, sizeof(a)) != 0);
	CU_ASSERT_EQUAL(random_fill(a, 0), 0);
}

static void test_signals_take(void)
{
	/* An ignored signal gets its default action back, and ends up blocked. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, now;
	sigemptyset(&ign.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGUSR2, &ign, NULL), 0);
	sigset_t set, mask;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	signals_take(&set);
	CU_ASSERT_EQUAL(sigaction(SIGUSR2, NULL, &now), 0);
	CU_ASSERT(now.sa_handler == SIG_DFL);
	CU_ASSERT_EQUAL(pthread_sigmask(SIG_BLOCK, NULL, &mask), 0);
	CU_ASSERT_EQUAL(sigismember(&mask, SIGUSR2), 1);
	/* Blocked, so raising it does not kill the test: sigwait takes it. */
	CU_ASSERT_EQUAL(raise(SIGUSR2), 0);
	int sig = 0;
	CU_ASSERT_EQUAL(sigwait(&set, &sig), 0);
	CU_ASSERT_EQUAL(sig, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void test_dynlib(void)
{
	/* A library and symbols that exist: the addresses are the functions themselves. */
	size_t (*len)(const char *) = NULL;
	int (*cmp)(const char *, const char *) = NULL;
	const struct dynlib_sym ok[] = {{"strlen", (void **)&len}, {"strcmp", (void **)&cmp}};
	struct errbuf err;
	errbuf_clear(&err);
	CU_ASSERT_EQUAL_FATAL(dynlib_open("libc.so.6", ok, 2, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(len);
	CU_ASSERT_EQUAL(len("leindexd"), 8);
	CU_ASSERT(cmp("a", "b") < 0);
	CU_ASSERT_STRING_EQUAL(err.msg, "");
	/* A library that is not there: the message names it and says why. */
	void *p = NULL;
	const struct dynlib_sym one[] = {{"strlen", &p}};
	CU_ASSERT(dynlib_open("libleindex-absent.so.9", one, 1, &err) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "loading libleindex-absent.so.9: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "No such file"));
	/* A symbol the library lacks: named too. */
	errbuf_clear(&err);
	const struct dynlib_sym missing[] = {{"strlen", &p}, {"leindex_no_such_symbol", &p}};
	CU_ASSERT(dynlib_open("libc.so.6", missing, 2, &err) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "libc.so.6: no symbol leindex_no_such_symbol"));
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"utf8: overlongs, surrogates, past U+10FFFF, NUL, truncations", test_utf8_cases},
		{"utf8: agrees with a decoding oracle on every 1-3 byte string", test_utf8_exhaustive},
		{"utf8: sequence lengths", test_utf8_seq_len},
		{"base64 and base64url: RFC 4648 vectors", test_base64_vectors},
		{"base64 agrees with OpenSSL; base64url round-trips", test_base64_random},
		{"base64url decoding refuses a second spelling", test_base64url_rejects},
		{"hex in both cases", test_hex},
		{"strbuf: appends of every kind past several growths", test_strbuf_builds},
		{"strbuf: printf longer than the buffer", test_strbuf_long_printf},
		{"strbuf: an empty buffer hands out \"\"", test_strbuf_empty_take},
		{"strbuf: out of memory is sticky and reported once", test_strbuf_oom_sticks},
		{"readfile: sizes around the growth steps, and the limit", test_readfile_sizes},
		{"readfile: missing file and directory say which step failed", test_readfile_errors},
		{"readfile: /proc and pipes, read to the end", test_readfile_streams},
		{"random: two fills differ and are not zero", test_random_fill},
		{"signals: default action back, blocked, taken by sigwait", test_signals_take},
		{"dynlib: symbols resolved; a missing library or symbol named", test_dynlib},
		{NULL, NULL},
	};
	return unit_run("base", tests);
}
