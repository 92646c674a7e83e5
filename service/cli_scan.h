/* cli_scan.h: `leindexd scan DIR`, the one-shot scan through the same engine and store. */
#ifndef LEINDEX_CLI_SCAN_H
#define LEINDEX_CLI_SCAN_H

#include "service/config.h"

/**
 * Scans cfg->scan_root into the store in cfg->data_dir, prints the summary (or JSON, or the
 * list of paths) on stdout and diagnostics on stderr. Returns the process exit status: 0 when
 * the scan completed, 1 when it failed or was interrupted, 2 when it could not start.
 */
int cli_scan(const struct config *cfg);

#endif
