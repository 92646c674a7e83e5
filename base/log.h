/* log.h: one line per event on stderr, as text or JSON. */
#ifndef LEINDEX_LOG_H
#define LEINDEX_LOG_H

#include <stddef.h>
#include <stdint.h>

/** Severity, lowest first. */
enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/** Line format. */
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

/** Kinds of structured fields. */
enum log_field_kind { LOG_FIELD_END = 0, LOG_FIELD_STR, LOG_FIELD_BYTES, LOG_FIELD_U64,
		      LOG_FIELD_I64, LOG_FIELD_DBL };

/** One key=value of an event. Strings are borrowed for the call. */
struct log_field {
	const char *key;
	enum log_field_kind kind;
	const char *s;
	size_t len;
	uint64_t u;
	int64_t i;
	double d;
};

#define LOG_STR(k, v) ((struct log_field){.key = (k), .kind = LOG_FIELD_STR, .s = (v)})
/** Raw bytes (a path): bytes that are not printable UTF-8 are escaped as \xNN. */
#define LOG_BYTES(k, p, n) ((struct log_field){.key = (k), .kind = LOG_FIELD_BYTES, .s = (p), .len = (n)})
#define LOG_U64(k, v) ((struct log_field){.key = (k), .kind = LOG_FIELD_U64, .u = (v)})
#define LOG_I64(k, v) ((struct log_field){.key = (k), .kind = LOG_FIELD_I64, .i = (v)})
#define LOG_DBL(k, v) ((struct log_field){.key = (k), .kind = LOG_FIELD_DBL, .d = (v)})
#define LOG_END ((struct log_field){.kind = LOG_FIELD_END})

/**
 * Sets the minimum level and the format. Part of the process configuration: call once at start,
 * before any thread logs. Defaults: LOG_INFO, text.
 */
void log_configure(enum log_level min_level, enum log_format format);

/** Parses "debug|info|warn|error" / "text|json"; 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);
int log_format_parse(const char *s, enum log_format *out);

/** Whether events at `level` are written (to skip building costly fields). */
int log_enabled(enum log_level level);

/**
 * Writes one event: `msg` and the fields up to a LOG_FIELD_END (fields may be NULL). One write(2)
 * per line, so lines of concurrent threads never interleave. Thread-safe.
 */
void log_event(enum log_level level, const char *msg, const struct log_field *fields);

/** log_event() with fields given inline: LOG_EV(LOG_INFO, "scan done", LOG_U64("scan_id", id)). */
#define LOG_EV(level, msg, ...) \
	log_event((level), (msg), (const struct log_field[]){__VA_ARGS__, LOG_END})

#endif
