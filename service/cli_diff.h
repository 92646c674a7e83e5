/* cli_diff.h: `leindexd diff A B`: the differences between two stored scans. */
#ifndef LEINDEX_CLI_DIFF_H
#define LEINDEX_CLI_DIFF_H

#include <stdbool.h>

/** Whether argv[1] is "diff". */
bool cli_diff_is(int argc, char **argv);

/**
 * Runs `leindexd diff A B [--json|--ndjson] [--data-dir DIR]` on the store of --data-dir
 * (LEINDEX_DATA_DIR, default ./data): what changed from scan A (the earlier) to scan B, as GET
 * /scans/B/diff?against=A gives it. Text: "change<TAB>path" a line; --json: one document;
 * --ndjson: one difference a line. Returns the exit status: 0 done, 1 the store or a scan could
 * not be read, 2 a usage error.
 */
int cli_diff_main(int argc, char **argv);

#endif
