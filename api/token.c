/* token.c: page tokens: base64url(version || position || HMAC-SHA256). */
#include "api/token.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"

/*
 * A token carries only where to resume; what it is valid for (route, scan, filters) goes into
 * the MAC but not into the token, so a token replayed on another scan, route or filter set fails
 * verification exactly like a forged one and the answer reveals nothing. The key is per data
 * directory, so tokens survive restarts of the same store.
 */

#define API_TOKEN_VERSION 1
#define API_TOKEN_MAC 32
#define API_TOKEN_KEYFILE "page-token.key"

static int api_token_read_all(int fd, unsigned char *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		got += (size_t)r;
	}
	return 0;
}

int api_token_key_load(struct api_token_key *key, const char *dir, struct errbuf *err)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/%s", dir, API_TOKEN_KEYFILE) >= (int)sizeof(path))
		return errbuf_set(err, -ENAMETOOLONG, "page token key: data directory path too long: %s", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		unsigned char k[32];
		if (RAND_bytes(k, sizeof(k)) != 1) {
			close(fd);
			unlink(path);
			return errbuf_set(err, -EIO, "creating %s: no random bytes from OpenSSL", path);
		}
		ssize_t w = write(fd, k, sizeof(k));
		int werr = errno;
		if (w != (ssize_t)sizeof(k) || fsync(fd) < 0) {
			if (w == (ssize_t)sizeof(k))
				werr = errno;
			close(fd);
			unlink(path);
			return errbuf_errno(err, w < 0 || w == (ssize_t)sizeof(k) ? werr : EIO, "writing %s", path);
		}
		if (close(fd) < 0)
			return errbuf_errno(err, errno, "closing %s", path);
		memcpy(key->bytes, k, sizeof(k));
		return 0;
	}
	if (errno != EEXIST)
		return errbuf_errno(err, errno, "creating %s", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_errno(err, errno, "opening %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return errbuf_errno(err, e, "reading %s", path);
	}
	if (st.st_size != 32) {
		close(fd);
		return errbuf_set(err, -EINVAL, "%s holds %lld bytes, not 32: remove it to make a new key",
				  path, (long long)st.st_size);
	}
	int rc = api_token_read_all(fd, key->bytes, sizeof(key->bytes));
	close(fd);
	if (rc < 0)
		return errbuf_errno(err, -rc, "reading %s", path);
	return 0;
}

static int api_token_mac(const struct api_token_key *key, const struct api_token_bind *b,
			 const unsigned char *payload, size_t len, unsigned char *mac)
{
	static const char label[] = "leindexd page token";
	unsigned char head[1 + 8 + 8];
	head[0] = (unsigned char)b->route;
	bytes_be64_put(head + 1, b->scan_id);
	bytes_be64_put(head + 9, b->filter_len);
	int ok = 0;
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
	OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
				OSSL_PARAM_construct_end()};
	size_t out_len = 0;
	if (c && EVP_MAC_init(c, key->bytes, sizeof(key->bytes), params) == 1 &&
	    EVP_MAC_update(c, (const unsigned char *)label, sizeof(label)) == 1 &&
	    EVP_MAC_update(c, head, sizeof(head)) == 1 &&
	    (b->filter_len == 0 || EVP_MAC_update(c, b->filter, b->filter_len) == 1) &&
	    EVP_MAC_update(c, payload, len) == 1 &&
	    EVP_MAC_final(c, mac, &out_len, API_TOKEN_MAC) == 1 && out_len == API_TOKEN_MAC)
		ok = 1;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	return ok ? 0 : -1;
}

static const char api_token_b64u[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *api_token_encode(const struct api_token_key *key, const struct api_token_bind *b,
		       const void *pos, size_t pos_len)
{
	if (pos_len > API_TOKEN_POS_MAX)
		return NULL;
	unsigned char raw[1 + API_TOKEN_POS_MAX + API_TOKEN_MAC];
	raw[0] = API_TOKEN_VERSION;
	memcpy(raw + 1, pos, pos_len);
	size_t n = 1 + pos_len;
	if (api_token_mac(key, b, raw, n, raw + n) < 0)
		return NULL;
	n += API_TOKEN_MAC;
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (!out)
		return NULL;
	size_t o = 0, i = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (; i < n; i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = api_token_b64u[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = api_token_b64u[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return out;
}

int api_token_decode(const struct api_token_key *key, const struct api_token_bind *b,
		     const char *tok, size_t tok_len, void *pos, size_t pos_cap, size_t *pos_len)
{
	unsigned char raw[1 + API_TOKEN_POS_MAX + API_TOKEN_MAC + 4];
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	if (tok_len > (sizeof(raw) * 4 + 2) / 3)
		return -1;
	for (size_t i = 0; i < tok_len; i++) {
		const char *p = tok[i] ? memchr(api_token_b64u, tok[i], 64) : NULL;
		if (!p)
			return -1;
		acc = (acc << 6) | (uint32_t)(p - api_token_b64u);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= sizeof(raw))
				return -1;
			raw[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* Leftover bits must be zero padding of the last byte: one encoding per token. */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
		return -1;
	if (n < 1 + API_TOKEN_MAC || raw[0] != API_TOKEN_VERSION)
		return -1;
	size_t plen = n - API_TOKEN_MAC;
	unsigned char mac[API_TOKEN_MAC];
	if (api_token_mac(key, b, raw, plen, mac) < 0)
		return -1;
	if (CRYPTO_memcmp(mac, raw + plen, API_TOKEN_MAC) != 0)
		return -1;
	if (plen - 1 > pos_cap)
		return -1;
	memcpy(pos, raw + 1, plen - 1);
	*pos_len = plen - 1;
	return 0;
}

char *api_token_encode_u64(const struct api_token_key *key, const struct api_token_bind *b,
			   uint64_t pos)
{
	unsigned char be[8];
	bytes_be64_put(be, pos);
	return api_token_encode(key, b, be, sizeof(be));
}

int api_token_decode_u64(const struct api_token_key *key, const struct api_token_bind *b,
			 const char *tok, size_t tok_len, uint64_t *pos)
{
	unsigned char be[API_TOKEN_POS_MAX];
	size_t len = 0;
	if (api_token_decode(key, b, tok, tok_len, be, sizeof(be), &len) < 0 || len != 8)
		return -1;
	*pos = bytes_be64_get(be);
	return 0;
}
