/* test_guard.c: forged browser requests (DNS rebinding, cross-site forms) are refused. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "api/guard.h"
#include "tests/unit/unit.h"

static const char *const no_cors[] = {NULL};
static const char *const some_cors[] = {"https://dash.example"};

static unsigned verdict(bool loopback, const char *method, const char *host, const char *origin,
			const char *ctype, bool cors)
{
	struct api_guard_server srv = {.loopback = loopback, .cors_origins = cors ? some_cors : no_cors,
				       .cors_origin_count = cors ? 1 : 0};
	struct api_guard_req req = {.method = method, .host = host, .origin = origin,
				    .content_type = ctype};
	struct api_guard_verdict v;
	api_guard_check(&srv, &req, &v);
	CU_ASSERT_EQUAL(v.status == 0, v.detail[0] == '\0');
	return v.status;
}

static void test_loopback_hosts(void)
{
	const char *ok[] = {"127.0.0.1", "127.0.0.1:8080", "localhost", "LOCALHOST:1", "localhost.",
			    "a.localhost:8080", "[::1]", "[::1]:8080", "127.8.9.10:80",
			    "[::ffff:127.0.0.1]:8080"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CU_ASSERT_TRUE(api_guard_host_is_loopback(ok[i]));
		CU_ASSERT_EQUAL(verdict(true, "GET", ok[i], NULL, NULL, false), 0);
	}
	const char *bad[] = {"evil.example", "evil.example:8080", "128.0.0.1", "localhost.evil.example",
			     "[::2]:8080", "::1", "[::1", "127.0.0.1.nip.io", "", "0.0.0.0:8080"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_FALSE(api_guard_host_is_loopback(bad[i]));
		CU_ASSERT_EQUAL(verdict(true, "GET", bad[i], NULL, NULL, false), 403);
	}
	/* Listening on another address: any Host (a proxy may name the service anything). */
	CU_ASSERT_EQUAL(verdict(false, "GET", "evil.example", NULL, NULL, false), 0);
	/* HTTP/1.0 sends no Host: nothing to rebind. */
	CU_ASSERT_EQUAL(verdict(true, "GET", NULL, NULL, NULL, false), 0);
}

static bool addr_loopback(int family, const char *text)
{
	struct sockaddr_storage ss = {.ss_family = (sa_family_t)family};
	void *dst = family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
				      : (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	CU_ASSERT_FATAL(inet_pton(family, text, dst) == 1);
	return api_guard_addr_is_loopback(&ss);
}

static void test_listen_loopback(void)
{
	CU_ASSERT_TRUE(addr_loopback(AF_INET, "127.0.0.1"));
	CU_ASSERT_TRUE(addr_loopback(AF_INET, "127.1.2.3"));
	CU_ASSERT_TRUE(addr_loopback(AF_INET6, "::1"));
	CU_ASSERT_TRUE(addr_loopback(AF_INET6, "::ffff:127.0.0.1"));
	CU_ASSERT_FALSE(addr_loopback(AF_INET, "0.0.0.0"));
	CU_ASSERT_FALSE(addr_loopback(AF_INET, "10.1.2.3"));
	CU_ASSERT_FALSE(addr_loopback(AF_INET6, "::"));
	CU_ASSERT_FALSE(addr_loopback(AF_INET6, "fe80::1"));
}

static void test_cross_site_writes(void)
{
	/* A form on another site: refused by its Origin. */
	CU_ASSERT_EQUAL(verdict(true, "POST", "127.0.0.1:8080", "https://evil.example",
				"application/x-www-form-urlencoded", false), 403);
	CU_ASSERT_EQUAL(verdict(true, "DELETE", "127.0.0.1:8080", "null", NULL, false), 403);
	/* Our own page, and an allowed dashboard. */
	CU_ASSERT_EQUAL(verdict(true, "POST", "127.0.0.1:8080", "http://127.0.0.1:8080",
				"application/json", false), 0);
	CU_ASSERT_EQUAL(verdict(true, "POST", "127.0.0.1:8080", "https://dash.example", NULL, true), 0);
	CU_ASSERT_EQUAL(verdict(true, "POST", "127.0.0.1:8080", "https://dash.example", NULL, false), 403);
	/* A form without Origin (old browsers): its content type gives it away. */
	CU_ASSERT_EQUAL(verdict(true, "POST", "127.0.0.1:8080", NULL, "text/plain", false), 415);
	CU_ASSERT_EQUAL(verdict(true, "POST", "127.0.0.1:8080", NULL, "multipart/form-data; boundary=x",
				false), 415);
	CU_ASSERT_EQUAL(verdict(true, "POST", "127.0.0.1:8080", NULL, "application/json; charset=utf-8",
				false), 0);
	/* curl with no Origin and no body. */
	CU_ASSERT_EQUAL(verdict(true, "POST", "127.0.0.1:8080", NULL, NULL, false), 0);
	/* Reads stay open to any origin (CORS decides what a page may read). */
	CU_ASSERT_EQUAL(verdict(true, "GET", "127.0.0.1:8080", "https://evil.example", NULL, false), 0);
	CU_ASSERT_EQUAL(verdict(true, "OPTIONS", "127.0.0.1:8080", "https://evil.example", "text/plain",
				false), 0);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"loopback Host names pass, others are DNS rebinding", test_loopback_hosts},
		{"which listen addresses are loopback", test_listen_loopback},
		{"cross-site writes are refused by Origin or by form content type", test_cross_site_writes},
		{NULL, NULL},
	};
	return unit_run("guard", tests);
}
