/*
 * fuzz_token.c: page tokens (api/token.h). A page token arrives in a query string, so its bytes
 * are the client's: decoding must refuse anything it did not issue, without reading or writing
 * out of bounds, and what it issues must come back unchanged.
 *
 * fuzz-options: -max_len=1024 -timeout=10
 *
 * Each input is used twice:
 *  - as a token, decoded with a fixed key and binding (the seed corpus holds tokens issued with
 *    them, so mutations start from valid ones). A token that decodes must be the one encoding of
 *    its position (re-encoding gives the same text) and must fail under any other binding;
 *    api_token_decode_u64() must agree with api_token_decode().
 *  - as a binding filter and a position (the first byte says where the filter ends): encoding then
 *    decoding gives the position back; another scan, route or filter, a changed character, a
 *    character less or more all fail.
 */
#include <string.h>

#include "api/token.h"
#include "base/bytes.h"
#include "tests/fuzz/fuzz.h"

/* The key and binding the seed tokens were issued with (tests/fuzz/corpus/token/). */
static const struct api_token_key fuzz_token_key = {
	{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
	 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
	 0x1e, 0x1f}};
static const char fuzz_token_filter[] = "prefix=src";

static const char fuzz_token_b64u[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * The bindings a token issued for `b` must not pass: another scan, another route, the filter
 * one byte shorter, one byte longer (built in `scratch`, b->filter_len + 1 bytes).
 */
static size_t fuzz_token_others(const struct api_token_bind *b, unsigned char *scratch,
				struct api_token_bind out[4])
{
	size_t n = 0;
	out[n] = *b;
	out[n++].scan_id = b->scan_id + 1;
	out[n] = *b;
	out[n++].route = b->route == API_TOKEN_ENTRIES ? API_TOKEN_ERRORS : API_TOKEN_ENTRIES;
	if (b->filter_len > 0) {
		out[n] = *b;
		out[n++].filter_len = b->filter_len - 1;
	}
	if (b->filter_len > 0)
		memcpy(scratch, b->filter, b->filter_len);
	scratch[b->filter_len] = 'x';
	out[n] = *b;
	out[n].filter = scratch;
	out[n++].filter_len = b->filter_len + 1;
	return n;
}

/* Whether `tok` (tok_len bytes) decodes under binding `b`. */
static bool fuzz_token_passes(const struct api_token_bind *b, const char *tok, size_t tok_len)
{
	unsigned char pos[API_TOKEN_POS_MAX];
	size_t plen = 0;
	return api_token_decode(&fuzz_token_key, b, tok, tok_len, pos, sizeof(pos), &plen) == 0;
}

/* The input as a token under the fixed binding. */
static void fuzz_token_decode(const uint8_t *data, size_t size)
{
	struct api_token_bind b = {.route = API_TOKEN_ENTRIES, .scan_id = 7,
				   .filter = fuzz_token_filter,
				   .filter_len = sizeof(fuzz_token_filter) - 1};
	const char *tok = (const char *)data;
	unsigned char pos[API_TOKEN_POS_MAX];
	size_t plen = 0;
	uint64_t v = 0;
	int rc = api_token_decode(&fuzz_token_key, &b, tok, size, pos, sizeof(pos), &plen);
	int rc64 = api_token_decode_u64(&fuzz_token_key, &b, tok, size, &v);
	FUZZ_CHECK(rc == 0 || rc == -1, "api_token_decode returned %d", rc);
	FUZZ_CHECK(rc64 == (rc == 0 && plen == 8 ? 0 : -1),
		   "decode_u64 says %d where decode says %d with %zu bytes", rc64, rc, plen);
	if (rc != 0)
		return;
	FUZZ_CHECK(plen <= API_TOKEN_POS_MAX, "a position of %zu bytes", plen);
	if (rc64 == 0)
		FUZZ_CHECK(v == bytes_be64_get(pos), "decode_u64 gives another number");

	char *again = api_token_encode(&fuzz_token_key, &b, pos, plen);
	FUZZ_CHECK(again != NULL, "re-encoding a decoded position failed");
	FUZZ_CHECK(strlen(again) == size && memcmp(again, tok, size) == 0,
		   "a token that decodes is not the one encoding of its position");
	free(again);

	struct api_token_bind others[4];
	unsigned char scratch[sizeof(fuzz_token_filter)];
	size_t n = fuzz_token_others(&b, scratch, others);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(!fuzz_token_passes(&others[i], tok, size),
			   "a token passes under binding %zu", i);
}

/* Checks that `tok` decodes to pos[0..plen) under `b`, and that nothing near it does. */
static void fuzz_token_check_issued(const struct api_token_bind *b, const char *tok,
				    const unsigned char *pos, size_t plen, unsigned pick)
{
	size_t tlen = strlen(tok);
	FUZZ_CHECK(tlen == (8 * (1 + plen + 32) + 5) / 6, "a token of %zu characters for %zu bytes",
		   tlen, plen);
	unsigned char out[API_TOKEN_POS_MAX];
	size_t olen = 0;
	int rc = api_token_decode(&fuzz_token_key, b, tok, tlen, out, sizeof(out), &olen);
	FUZZ_CHECK(rc == 0, "an issued token does not decode");
	FUZZ_CHECK(olen == plen && memcmp(out, pos, plen) == 0,
		   "an issued token decodes to another position");

	struct api_token_bind others[4];
	unsigned char scratch[16];
	size_t n = fuzz_token_others(b, scratch, others);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(!fuzz_token_passes(&others[i], tok, tlen),
			   "an issued token passes under binding %zu", i);

	char *m = fuzz_alloc(tlen + 2);
	memcpy(m, tok, tlen + 1);
	size_t at = pick % tlen;
	const char *c = memchr(fuzz_token_b64u, m[at], 64);
	FUZZ_CHECK(c != NULL, "an issued token holds '%c'", m[at]);
	m[at] = fuzz_token_b64u[((size_t)(c - fuzz_token_b64u) + 1 + (pick >> 8) % 63) % 64];
	FUZZ_CHECK(!fuzz_token_passes(b, m, tlen), "a token with character %zu changed passes", at);
	memcpy(m, tok, tlen + 1);
	FUZZ_CHECK(!fuzz_token_passes(b, m, tlen - 1), "a token without its last character passes");
	m[tlen] = fuzz_token_b64u[pick % 64];
	m[tlen + 1] = '\0';
	FUZZ_CHECK(!fuzz_token_passes(b, m, tlen + 1), "a token with one more character passes");
	free(m);
}

/* The input as a filter and a position to issue a token for. */
static void fuzz_token_round_trip(const uint8_t *data, size_t size)
{
	if (size == 0)
		return;
	size_t flen = data[0] % 16;
	if (flen > size - 1)
		flen = size - 1;
	const unsigned char *pos = data + 1 + flen;
	size_t plen = size - 1 - flen;
	if (plen > API_TOKEN_POS_MAX)
		plen = API_TOKEN_POS_MAX;
	unsigned pick = (unsigned)data[size - 1] << 8 | data[size / 2];

	struct api_token_bind b = {.route = (enum api_token_route)(1 + data[0] / 16 % 3),
				   .scan_id = data[0] / 48, .filter = data + 1, .filter_len = flen};
	char *tok = api_token_encode(&fuzz_token_key, &b, pos, plen);
	FUZZ_CHECK(tok != NULL, "encoding %zu bytes failed", plen);
	fuzz_token_check_issued(&b, tok, pos, plen, pick);
	free(tok);

	unsigned char be[8] = {0};
	memcpy(be, pos, plen < 8 ? plen : 8);
	uint64_t v = bytes_be64_get(be), w = 0;
	tok = api_token_encode_u64(&fuzz_token_key, &b, v);
	FUZZ_CHECK(tok != NULL, "encoding a number failed");
	FUZZ_CHECK(api_token_decode_u64(&fuzz_token_key, &b, tok, strlen(tok), &w) == 0 && w == v,
		   "a number does not come back");
	free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_token_decode(data, size);
	fuzz_token_round_trip(data, size);
	return 0;
}
