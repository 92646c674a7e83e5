/* cli_query.h: `leindexd entries ID` and `leindexd top ID`: queries of a stored scan. */
#ifndef LEINDEX_CLI_QUERY_H
#define LEINDEX_CLI_QUERY_H

#include <stdbool.h>

/** Whether argv[1] names one of the subcommands cli_query_main() runs ("entries", "top"). */
bool cli_query_is(int argc, char **argv);

/**
 * Runs `leindexd entries ID [filters] [--json|--ndjson|--null]` or `leindexd top ID --by
 * size|mtime [--limit N]` on the store of --data-dir (LEINDEX_DATA_DIR, default ./data), with the
 * filters of the HTTP routes spelled as flags (--ext rs, --min-size 1024, --prefix src, ...).
 * Prints on stdout, diagnostics on stderr. Returns the exit status: 0 done, 1 the store or the
 * scan could not be read, 2 a usage error.
 */
int cli_query_main(int argc, char **argv);

#endif
