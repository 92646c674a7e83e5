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
#include <unistd.h>

#include "base/bytes.h"
#include "base/encode.h"
#include "base/readfile.h"

/*
 * A token carries only where to resume; what it is valid for (route, scan, filters) goes into
 * the MAC but not into the token, so a token replayed on another scan, route or filter set fails
 * verification exactly like a forged one and the answer reveals nothing. The key is per data
 * directory, so tokens survive restarts of the same store.
 */

#define API_TOKEN_VERSION 1
#define API_TOKEN_MAC 32
#define API_TOKEN_KEYFILE "page-token.key"
/** Past this size the key file is not read at all (it should hold 32 bytes). */
#define API_TOKEN_KEYFILE_MAX 4096

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
	char *text = NULL;
	size_t len = 0;
	int rc = readfile_at(AT_FDCWD, path, 0, API_TOKEN_KEYFILE_MAX, &text, &len, err);
	if (rc == -EFBIG)
		return errbuf_set(err, -EINVAL, "%s holds more than %d bytes, not 32: remove it to make "
				  "a new key", path, API_TOKEN_KEYFILE_MAX);
	if (rc < 0)
		return rc;
	if (len != sizeof(key->bytes)) {
		OPENSSL_cleanse(text, len);
		free(text);
		return errbuf_set(err, -EINVAL, "%s holds %zu bytes, not 32: remove it to make a new key",
				  path, len);
	}
	memcpy(key->bytes, text, len);
	OPENSSL_cleanse(text, len);
	free(text);
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
	char *out = malloc(ENCODE_BASE64URL_LEN(n) + 1);
	if (out)
		encode_base64url(raw, n, out);
	return out;
}

int api_token_decode(const struct api_token_key *key, const struct api_token_bind *b,
		     const char *tok, size_t tok_len, void *pos, size_t pos_cap, size_t *pos_len)
{
	unsigned char raw[1 + API_TOKEN_POS_MAX + API_TOKEN_MAC];
	size_t n = 0;
	/* Strict: one spelling per token, and no longer than a token can be. */
	if (decode_base64url(tok, tok_len, raw, sizeof(raw), &n) < 0)
		return API_TOKEN_BAD;
	if (n < 1 + API_TOKEN_MAC || raw[0] != API_TOKEN_VERSION)
		return API_TOKEN_BAD;
	size_t plen = n - API_TOKEN_MAC;
	unsigned char mac[API_TOKEN_MAC];
	if (api_token_mac(key, b, raw, plen, mac) < 0)
		return API_TOKEN_NOMEM;
	if (CRYPTO_memcmp(mac, raw + plen, API_TOKEN_MAC) != 0)
		return API_TOKEN_BAD;
	if (plen - 1 > pos_cap)
		return API_TOKEN_BAD;
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
	int rc = api_token_decode(key, b, tok, tok_len, be, sizeof(be), &len);
	if (rc < 0)
		return rc;
	if (len != 8)
		return API_TOKEN_BAD;
	*pos = bytes_be64_get(be);
	return 0;
}
