/* cli_health.h: `leindexd health`, the probe a container's HEALTHCHECK runs. */
#ifndef LEINDEX_CLI_HEALTH_H
#define LEINDEX_CLI_HEALTH_H

#include "service/config.h"

/**
 * GET /healthz on cfg->listen (a wildcard address probes loopback). Returns 0 when the answer is
 * 200, 1 otherwise (the reason goes to stderr).
 */
int cli_health(const struct config *cfg);

#endif
