/* cli_commands.h: the table of commands on stored scans: `leindexd NAME [OPTIONS] ARGS`. */
#ifndef LEINDEX_CLI_COMMANDS_H
#define LEINDEX_CLI_COMMANDS_H

#include "service/config.h"

/*
 * Adding a command is adding a row to cli_commands[] (cli_commands.c) with a function that
 * parses its own flags (cli_store.h's cli_args_parse() gives every command --data-dir, --json
 * and -h alike) and returns the process's exit status. config_parse() dispatches on the name,
 * and `leindexd --help` lists every row.
 */

/** One command. */
struct cli_command {
	const char *name;     /**< "scans" */
	const char *synopsis; /**< what follows "leindexd " in the usage: "show ID [--json]" */
	const char *summary;  /**< one line for --help */
	/**
	 * Runs it: argv[0] is the name. cfg holds the environment's settings (cfg->data_dir is
	 * LEINDEX_DATA_DIR, or NULL). Returns the exit status: 0 done, 1 it failed, 2 a usage
	 * error or no usable data directory.
	 */
	int (*run)(const struct config *cfg, int argc, char **argv);
};

/** The commands, ending with a row whose name is NULL. Immutable. */
extern const struct cli_command cli_commands[];

/** The row named `name`, or NULL. */
const struct cli_command *cli_command_find(const char *name);

#endif
