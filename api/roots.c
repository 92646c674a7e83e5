/* roots.c: GET /roots: the directories scans may start from, for clients that offer a choice. */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "base/encode.h"
#include "base/utf8.h"

/* Writes the base64 of root `r` as an array element. */
static void api_roots_b64(struct jsonw *w, const char *r)
{
	size_t n = strlen(r);
	char *b = malloc(ENCODE_BASE64_LEN(n) + 1);
	if (!b) {
		w->sb.oom = true;
		return;
	}
	size_t bl = encode_base64(r, n, b);
	jsonw_strn(w, b, bl);
	free(b);
}

/*
 * The allowed roots as the server checks them: resolved at start (symbolic links and ".."), so a
 * client that submits one of them as it is gets it accepted. `any` is true when no --allow-root
 * restricts scans (then `roots` is empty and any absolute directory may be scanned). A root whose
 * bytes are not UTF-8 is listed in `roots_b64` (base64 of its bytes) instead, as paths are
 * everywhere in the API.
 */
enum MHD_Result api_roots(struct api_req *req)
{
	enum MHD_Result res;
	if (api_query(req, NULL, 0, &res) < 0)
		return res;
	const struct api_ctx *ctx = req->ctx;
	struct jsonw w;
	jsonw_init(&w);
	jsonw_obj(&w);
	jsonw_key(&w, "roots");
	jsonw_arr(&w);
	size_t not_utf8 = 0;
	for (size_t i = 0; i < ctx->allow_root_count; i++) {
		const char *r = ctx->allow_roots[i];
		if (utf8_valid(r, strlen(r)))
			jsonw_str(&w, r);
		else
			not_utf8++;
	}
	jsonw_arr_end(&w);
	if (not_utf8) {
		/* jsonw_path() writes one "roots_b64" key per call: one array holds them all. */
		jsonw_key(&w, "roots_b64");
		jsonw_arr(&w);
		for (size_t i = 0; i < ctx->allow_root_count; i++) {
			const char *r = ctx->allow_roots[i];
			if (!utf8_valid(r, strlen(r)))
				api_roots_b64(&w, r);
		}
		jsonw_arr_end(&w);
	}
	jsonw_key(&w, "any");
	jsonw_bool(&w, ctx->allow_root_count == 0);
	jsonw_obj_end(&w);
	return api_reply_jw(req, 200, &w, "Cache-Control", "no-cache", (const char *)NULL);
}
