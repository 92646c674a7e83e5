/* server.h: the HTTP service (`leindexd` with no subcommand) and its health probe. */
#ifndef LEINDEX_API_SERVER_H
#define LEINDEX_API_SERVER_H

#include "service/config.h"

/**
 * Serves the REST API on cfg->listen until SIGTERM or SIGINT: opens the store in cfg->data_dir,
 * starts the job manager and the HTTP daemon, then on the signal stops accepting, interrupts
 * running and queued scans, closes the store. Blocks SIGTERM and SIGINT in the calling thread
 * (call it before starting any other thread). Returns 0 after a clean stop, 1 when it could not
 * start (the reason is logged).
 */
int api_serve(const struct config *cfg);

/**
 * `leindexd health`: GET /healthz on cfg->listen (a wildcard address probes loopback). Returns 0
 * when the answer is 200, 1 otherwise (the reason goes to stderr).
 */
int api_health(const struct config *cfg);

#endif
