/* log.c: event lines on stderr. The level and format are set once at start (process config). */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/encode.h"
#include "base/utf8.h"

/* Process configuration, written once by log_configure() before threads start. */
static enum log_level log_min_level = LOG_INFO;
static enum log_format log_line_format = LOG_FORMAT_TEXT;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

void log_configure(enum log_level min_level, enum log_format format)
{
	log_min_level = min_level;
	log_line_format = format;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_FORMAT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

int log_enabled(enum log_level level)
{
	return level >= log_min_level;
}

/* A line being built; long lines are cut rather than split, so each event stays one line. */
struct log_line {
	char buf[8192];
	size_t len;
};

static void log_put(struct log_line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->len;
	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void log_puts(struct log_line *l, const char *s)
{
	log_put(l, s, strlen(s));
}

static void log_printf(struct log_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_printf(struct log_line *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = sizeof(l->buf) - 1 - l->len;
	int n = vsnprintf(l->buf + l->len, room + 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < room ? (size_t)n : room;
}

/*
 * Quotes bytes for both formats: '"' and '\\' escaped, control bytes and invalid UTF-8 as \xNN
 * (in JSON as \\xNN, a literal backslash, so the line stays valid JSON and the bytes readable).
 */
static void log_quote(struct log_line *l, const char *s, size_t n)
{
	const char *bs = log_line_format == LOG_FORMAT_JSON ? "\\\\" : "\\";
	log_put(l, "\"", 1);
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t u = utf8_seq_len(p + i, n - i);
		if (u == 1 && p[i] >= 0x20 && p[i] != 0x7f && p[i] != '"' && p[i] != '\\') {
			log_put(l, s + i, 1);
		} else if (u == 1 && (p[i] == '"' || p[i] == '\\')) {
			log_put(l, "\\", 1);
			log_put(l, s + i, 1);
		} else if (u > 1) {
			log_put(l, s + i, u);
			i += u;
			continue;
		} else {
			char x[4] = {'x'};
			encode_hex(p + i, 1, x + 1, ENCODE_HEX_LOWER);
			log_puts(l, bs);
			log_put(l, x, 3);
		}
		i++;
	}
	log_put(l, "\"", 1);
}

static void log_field_value(struct log_line *l, const struct log_field *f)
{
	switch (f->kind) {
	case LOG_FIELD_STR:
		log_quote(l, f->s ? f->s : "", f->s ? strlen(f->s) : 0);
		break;
	case LOG_FIELD_BYTES:
		log_quote(l, f->s, f->len);
		break;
	case LOG_FIELD_U64:
		log_printf(l, "%" PRIu64, f->u);
		break;
	case LOG_FIELD_I64:
		log_printf(l, "%" PRId64, f->i);
		break;
	case LOG_FIELD_DBL:
		log_printf(l, "%.6f", f->d);
		break;
	case LOG_FIELD_END:
		break;
	}
}

void log_event(enum log_level level, const char *msg, const struct log_field *fields)
{
	if (!log_enabled(level))
		return;
	struct log_line l = {.len = 0};
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char when[64];
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	const char *lv = log_level_names[level];
	if (log_line_format == LOG_FORMAT_JSON) {
		log_printf(&l, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", when, lv);
		log_quote(&l, msg, strlen(msg));
		for (const struct log_field *f = fields; f && f->kind != LOG_FIELD_END; f++) {
			log_put(&l, ",", 1);
			log_quote(&l, f->key, strlen(f->key));
			log_put(&l, ":", 1);
			log_field_value(&l, f);
		}
		log_put(&l, "}", 1);
	} else {
		log_printf(&l, "%s %-5s %s", when, lv, msg);
		for (const struct log_field *f = fields; f && f->kind != LOG_FIELD_END; f++) {
			log_printf(&l, " %s=", f->key);
			log_field_value(&l, f);
		}
	}
	l.buf[l.len++] = '\n';
	/* One write per line so concurrent lines never interleave; a failing stderr is ignored. */
	const char *p = l.buf;
	size_t left = l.len;
	while (left > 0) {
		ssize_t n = write(STDERR_FILENO, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
}
