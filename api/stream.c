/* stream.c: answers streamed as NDJSON, chunk by chunk, optionally gzip or zstd compressed. */
#include "api/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#include "base/log.h"
#include "base/utf8.h"

/*
 * Design. A streamed answer is a source of lines (struct api_stream_src): each call of its
 * fill() appends the next lines, about API_STREAM_CHUNK bytes of them, reading the store in a
 * read transaction of its own that ends before fill() returns. libmicrohttpd pulls the body
 * through api_stream_read() on the polling thread of the connection as the socket drains, so
 * nothing is read ahead of the client: memory is one chunk of lines, one chunk of compressed
 * bytes and the compressor's state, whatever the size of the scan, and no thread waits for a
 * slow client (a connection idle longer than the connection timeout is closed by
 * libmicrohttpd). When the client goes away, libmicrohttpd stops calling and frees the stream
 * (api_stream_free()), which ends the source.
 *
 * The body is chunked (its length is unknown). A stream that cannot be completed (a read failed,
 * the scan was deleted under it) ends with one line {"error": {problem}} and then the connection
 * is closed without the terminating zero-length chunk, and for gzip or zstd without the
 * trailer, so that no client mistakes a cut stream for a whole one. The first chunk is filled
 * before the answer is queued, so that what can be refused (no such prefix, a bad token) still
 * gets its status code and problem document.
 *
 * Compression: each chunk is compressed and flushed at once (Z_SYNC_FLUSH, ZSTD_e_flush), so a
 * client decoding as it reads sees whole lines chunk by chunk; the end writes the trailer.
 */

/** About how many bytes of lines a fill() appends before it returns. */
#define API_STREAM_CHUNK (64 * 1024)
/** The block size libmicrohttpd reads the stream in. */
#define API_STREAM_BLOCK (32 * 1024)

struct api_stream {
	struct api_stream_src src;
	enum api_encoding enc;
	/** Lines produced by the source, then (compressed) what is left to send: out[off..len). */
	struct strbuf lines;
	unsigned char *out;
	size_t off, len, cap;
	z_stream gz;
	bool gz_ready;
	ZSTD_CCtx *zc;
	/** The source has no more lines; the trailer was added; an error line was added. */
	bool done, ended, failed;
	/** For the log line of a failed stream. */
	char request_id[API_REQUEST_ID_MAX + 1];
	uint64_t scan_id;
};

/* ---------------------------------------------------------------- negotiation */

/* The q of a media-range's parameters ("; q=0.5"); 1 when absent; -1 when malformed. */
static double api_stream_q(const char *p, const char *end)
{
	double q = 1;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi ? semi : end;
		while (p < stop && (*p == ' ' || *p == '\t'))
			p++;
		if (stop - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			char num[16];
			size_t n = (size_t)(stop - p - 2);
			while (n && (p[2 + n - 1] == ' ' || p[2 + n - 1] == '\t'))
				n--;
			if (n == 0 || n >= sizeof(num))
				return -1;
			memcpy(num, p + 2, n);
			num[n] = '\0';
			char *e;
			q = strtod(num, &e);
			if (*e || q < 0 || q > 1)
				return -1;
		}
		p = semi ? semi + 1 : end;
	}
	return q;
}

/*
 * Walks a comma-separated header of tokens with q parameters; calls `each` with each token
 * (trimmed, its parameters cut) and its q. Pure.
 */
static void api_stream_list(const char *h,
			    void (*each)(void *ctx, const char *tok, size_t len, double q,
					 unsigned index),
			    void *ctx)
{
	unsigned index = 0;
	for (const char *p = h; *p;) {
		const char *comma = strchrnul(p, ',');
		const char *semi = memchr(p, ';', (size_t)(comma - p));
		const char *tend = semi ? semi : comma;
		while (p < tend && (*p == ' ' || *p == '\t'))
			p++;
		size_t len = (size_t)(tend - p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		double q = semi ? api_stream_q(semi + 1, comma) : 1;
		if (len && q >= 0)
			each(ctx, p, len, q, index++);
		p = *comma ? comma + 1 : comma;
	}
}

struct api_accept_best {
	const char *want;
	double want_q, other_q;
	bool named;
};

static void api_accept_each(void *ctx, const char *tok, size_t len, double q, unsigned index)
{
	(void)index;
	struct api_accept_best *b = ctx;
	if (strlen(b->want) == len && strncasecmp(tok, b->want, len) == 0) {
		if (!b->named || q > b->want_q)
			b->want_q = q;
		b->named = true;
	} else if (q > b->other_q) {
		b->other_q = q;
	}
}

bool api_accept_ndjson(const char *accept)
{
	if (!accept)
		return false;
	struct api_accept_best b = {.want = "application/x-ndjson"};
	api_stream_list(accept, api_accept_each, &b);
	/* Named, wanted, and no other type (wildcards included) weighs more. */
	return b.named && b.want_q > 0 && b.want_q >= b.other_q;
}

struct api_encoding_best {
	double q[3]; /* by enum api_encoding; -1: not named */
	double star;
};

static void api_encoding_each(void *ctx, const char *tok, size_t len, double q, unsigned index)
{
	(void)index;
	struct api_encoding_best *b = ctx;
	if (len == 4 && strncasecmp(tok, "gzip", 4) == 0)
		b->q[API_ENC_GZIP] = q;
	else if (len == 6 && strncasecmp(tok, "x-gzip", 6) == 0)
		b->q[API_ENC_GZIP] = q;
	else if (len == 4 && strncasecmp(tok, "zstd", 4) == 0)
		b->q[API_ENC_ZSTD] = q;
	else if (len == 1 && tok[0] == '*')
		b->star = q;
}

enum api_encoding api_accept_encoding(const char *ae)
{
	if (!ae)
		return API_ENC_IDENTITY;
	struct api_encoding_best b = {.q = {-1, -1, -1}, .star = -1};
	api_stream_list(ae, api_encoding_each, &b);
	double gz = b.q[API_ENC_GZIP] >= 0 ? b.q[API_ENC_GZIP] : b.star;
	double zs = b.q[API_ENC_ZSTD] >= 0 ? b.q[API_ENC_ZSTD] : b.star;
	/* zstd on a tie: it compresses as well and costs the server less. */
	if (zs > 0 && zs >= gz)
		return API_ENC_ZSTD;
	if (gz > 0)
		return API_ENC_GZIP;
	return API_ENC_IDENTITY;
}

const char *api_encoding_name(enum api_encoding enc)
{
	return enc == API_ENC_GZIP ? "gzip" : enc == API_ENC_ZSTD ? "zstd" : "identity";
}

/* ---------------------------------------------------------------- compression */

/* Room for `extra` more bytes in st->out. */
static int api_stream_room(struct api_stream *st, size_t extra)
{
	if (st->len + extra <= st->cap)
		return 0;
	size_t cap = st->cap ? st->cap : API_STREAM_CHUNK;
	while (cap < st->len + extra)
		cap *= 2;
	unsigned char *o = realloc(st->out, cap);
	if (!o)
		return -ENOMEM;
	st->out = o;
	st->cap = cap;
	return 0;
}

static int api_stream_gzip(struct api_stream *st, const void *in, size_t n, bool end)
{
	z_stream *z = &st->gz;
	z->next_in = (Bytef *)in;
	z->avail_in = (uInt)n;
	for (;;) {
		if (api_stream_room(st, deflateBound(z, z->avail_in) + 64) < 0)
			return -ENOMEM;
		z->next_out = st->out + st->len;
		z->avail_out = (uInt)(st->cap - st->len);
		int rc = deflate(z, end ? Z_FINISH : Z_SYNC_FLUSH);
		st->len = st->cap - z->avail_out;
		if (end ? rc == Z_STREAM_END : (rc == Z_OK && z->avail_in == 0 && z->avail_out > 0))
			return 0;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -EIO;
	}
}

static int api_stream_zstd(struct api_stream *st, const void *in, size_t n, bool end)
{
	ZSTD_inBuffer ib = {in, n, 0};
	for (;;) {
		if (api_stream_room(st, ZSTD_compressBound(ib.size - ib.pos) + 64) < 0)
			return -ENOMEM;
		ZSTD_outBuffer ob = {st->out + st->len, st->cap - st->len, 0};
		size_t left = ZSTD_compressStream2(st->zc, &ob, &ib, end ? ZSTD_e_end : ZSTD_e_flush);
		st->len += ob.pos;
		if (ZSTD_isError(left))
			return -EIO;
		if (left == 0 && ib.pos == ib.size)
			return 0;
	}
}

/* Moves the lines produced to the output, compressed as asked; `end` adds the trailer. */
static int api_stream_pack(struct api_stream *st, bool end)
{
	const char *in = st->lines.buf ? st->lines.buf : "";
	size_t n = st->lines.len;
	int rc = 0;
	st->off = st->len = 0;
	switch (st->enc) {
	case API_ENC_GZIP:
		rc = api_stream_gzip(st, in, n, end);
		break;
	case API_ENC_ZSTD:
		rc = api_stream_zstd(st, in, n, end);
		break;
	case API_ENC_IDENTITY:
	default:
		if (n && (rc = api_stream_room(st, n)) == 0) {
			memcpy(st->out, in, n);
			st->len = n;
		}
		break;
	}
	st->lines.len = 0;
	if (st->lines.buf)
		st->lines.buf[0] = '\0';
	return rc;
}

/* ---------------------------------------------------------------- the stream */

/* Appends the line {"error": {problem}} for `status` and `detail`, and logs it. */
static void api_stream_error_line(struct api_stream *st, unsigned status, const char *detail)
{
	struct jsonw w;
	jsonw_init(&w);
	w.sb = st->lines;
	jsonw_obj(&w);
	jsonw_key(&w, "error");
	jsonw_obj(&w);
	jsonw_key(&w, "type");
	jsonw_str(&w, "about:blank");
	jsonw_key(&w, "title");
	jsonw_str(&w, api_status_title(status));
	jsonw_key(&w, "status");
	jsonw_u64(&w, status);
	jsonw_key(&w, "detail");
	jsonw_str(&w, utf8_valid(detail, strlen(detail)) ? detail
							: "the stream could not be completed");
	jsonw_key(&w, "request_id");
	jsonw_str(&w, st->request_id);
	jsonw_obj_end(&w);
	jsonw_obj_end(&w);
	strbuf_putc(&w.sb, '\n');
	st->lines = w.sb;
	LOG_EV(status >= 500 ? LOG_ERROR : LOG_WARN, "stream cut short",
	       LOG_U64("scan_id", st->scan_id), LOG_U64("status", status),
	       LOG_STR("detail", detail), LOG_STR("request_id", st->request_id));
}

/*
 * Fills the output with the next chunk: lines from the source, or the error line, or the
 * trailer. Returns 0, or -1 when nothing more can be sent at all (out of memory).
 */
static int api_stream_next(struct api_stream *st)
{
	if (st->done) {
		st->ended = true; /* what is left: the compressor's trailer, if any */
		if (st->enc == API_ENC_IDENTITY) {
			st->off = st->len = 0;
			return 0;
		}
		return api_stream_pack(st, true) < 0 ? -1 : 0;
	}
	struct errbuf err;
	errbuf_clear(&err);
	unsigned status = 500;
	int rc = st->src.fill(st->src.ctx, &st->lines, &st->done, &status, &err);
	if (rc == 0 && st->lines.oom) {
		rc = -ENOMEM;
		errbuf_set(&err, -ENOMEM, "out of memory while streaming");
	}
	if (rc < 0) {
		strbuf_free(&st->lines);
		api_stream_error_line(st, status, err.msg[0] ? err.msg : "the stream failed");
		st->failed = true;
	}
	return api_stream_pack(st, false) < 0 || st->lines.oom ? -1 : 0;
}

static ssize_t api_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct api_stream *st = cls;
	for (;;) {
		if (st->off < st->len) {
			size_t n = st->len - st->off < max ? st->len - st->off : max;
			memcpy(buf, st->out + st->off, n);
			st->off += n;
			return (ssize_t)n;
		}
		if (st->failed)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (st->ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (api_stream_next(st) < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
}

static void api_stream_free(void *cls)
{
	struct api_stream *st = cls;
	if (!st)
		return;
	if (st->src.free)
		st->src.free(st->src.ctx);
	strbuf_free(&st->lines);
	free(st->out);
	if (st->gz_ready)
		deflateEnd(&st->gz);
	ZSTD_freeCCtx(st->zc);
	free(st);
}

/* Starts the compressor. */
static int api_stream_start(struct api_stream *st)
{
	if (st->enc == API_ENC_GZIP) {
		/* Level 1: streams are long and mostly JSON keys; the fastest level compresses them
		 * well and keeps the server's cost per byte low. 31: a gzip wrapper. */
		if (deflateInit2(&st->gz, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		st->gz_ready = true;
	} else if (st->enc == API_ENC_ZSTD) {
		if (!(st->zc = ZSTD_createCCtx()) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(st->zc, ZSTD_c_compressionLevel, 3)))
			return -ENOMEM;
	}
	return 0;
}

enum MHD_Result api_stream_reply(struct api_req *req, struct api_stream_src *src,
				 const char *ctype, const char *const *headers)
{
	const char *ae = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_ACCEPT_ENCODING);
	struct api_stream *st = calloc(1, sizeof(*st));
	if (!st) {
		if (src->free)
			src->free(src->ctx);
		return api_problem(req, 500, "out of memory starting a stream");
	}
	st->src = *src;
	st->enc = api_accept_encoding(ae);
	st->scan_id = req->id;
	snprintf(st->request_id, sizeof(st->request_id), "%s", req->request_id);
	strbuf_init(&st->lines);
	if (api_stream_start(st) < 0) {
		const char *enc = api_encoding_name(st->enc);
		api_stream_free(st);
		return api_problem(req, 500, "out of memory starting a %s stream", enc);
	}
	/* The first chunk now: what fails before anything is sent gets its own status. */
	struct errbuf err;
	errbuf_clear(&err);
	unsigned status = 500;
	int rc = st->src.fill(st->src.ctx, &st->lines, &st->done, &status, &err);
	if (rc < 0 || st->lines.oom) {
		api_stream_free(st);
		return api_problem(req, rc < 0 ? status : 500, "%s",
				   rc < 0 && err.msg[0] ? err.msg : "out of memory while streaming");
	}
	if (api_stream_pack(st, false) < 0) {
		api_stream_free(st);
		return api_problem(req, 500, "out of memory while streaming");
	}
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, API_STREAM_BLOCK, api_stream_read, st, api_stream_free);
	if (!resp) {
		api_stream_free(st);
		return MHD_NO;
	}
	bool ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) == MHD_YES &&
		  MHD_add_response_header(resp, "X-Request-Id", req->request_id) == MHD_YES &&
		  MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding") == MHD_YES &&
		  (st->enc == API_ENC_IDENTITY ||
		   MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING,
					   api_encoding_name(st->enc)) == MHD_YES);
	for (size_t i = 0; ok && headers && headers[i]; i += 2)
		ok = MHD_add_response_header(resp, headers[i], headers[i + 1]) == MHD_YES;
	if (!ok) {
		MHD_destroy_response(resp); /* frees the stream */
		LOG_EV(LOG_ERROR, "creating an HTTP response failed", LOG_STR("url", req->url),
		       LOG_STR("error", "out of memory adding its headers"));
		return MHD_NO;
	}
	api_cors_headers(req, resp);
	req->status = 200;
	enum MHD_Result r = MHD_queue_response(req->conn, 200, resp);
	MHD_destroy_response(resp);
	return r;
}
