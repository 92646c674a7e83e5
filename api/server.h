/* server.h: the HTTP service (`leindexd` with no subcommand). */
#ifndef LEINDEX_API_SERVER_H
#define LEINDEX_API_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * What the server is configured with: filled by the program's entry from its configuration.
 * Borrowed by api_serve() for its whole run; strings and arrays must outlive it.
 */
struct api_server_opts {
	const char *listen;        /**< HOST:PORT */
	const char *data_dir;      /**< where the store lives */
	uint64_t map_size;         /**< bytes; 0: the store's default */
	unsigned max_running;      /**< scans running at once (>= 1) */
	unsigned max_queued;       /**< scans waiting */
	unsigned keep_scans;       /**< completed scans kept per root (jobq_opts); 0: all */
	const char *const *allow_roots; /**< absolute dirs; none: any absolute path */
	size_t allow_root_count;
	const char *const *cors_origins; /**< origins allowed by CORS; none: CORS off */
	size_t cors_origin_count;
	unsigned max_connections;            /**< open at once, all clients together */
	unsigned max_connections_per_client; /**< open at once from one IP address */
	unsigned request_timeout_s;          /**< to receive a whole request (headers and body) */
	const char *token_file;  /**< bearer tokens (auth.h); NULL: access control off */
	bool metrics_auth;       /**< /metrics needs a read token too */
	bool insecure_no_auth;   /**< serve a non-loopback address without tokens */
};

/** Defaults of the connection limits (the one definition; the CLI's --help says them). */
#define API_MAX_CONNECTIONS_DEFAULT 1024
#define API_MAX_CONNECTIONS_PER_CLIENT_DEFAULT 64
#define API_REQUEST_TIMEOUT_DEFAULT_S 30

/**
 * Serves the REST API on opts->listen until SIGTERM or SIGINT: opens the store in opts->data_dir,
 * starts the job manager and the HTTP daemon, then on the signal stops accepting, interrupts
 * running and queued scans, closes the store. Blocks SIGTERM and SIGINT in the calling thread
 * (call it before starting any other thread). Returns 0 after a clean stop, 1 when it could not
 * start (the reason is logged).
 */
int api_serve(const struct api_server_opts *cfg);

#endif
