/* cli_commands.c: the table of commands on stored scans (see cli_commands.h). */
#include "service/cli_commands.h"

#include <string.h>

#include "service/cli_store.h"

const struct cli_command cli_commands[] = {
	{"scans", "scans [--root DIR] [--state S]", "list the stored scans, newest first",
	 cli_scans},
	{"show", "show ID", "a stored scan: state, options, counters", cli_show},
	{"errors", "errors ID", "what scan ID could not read", cli_errors},
	{"rm", "rm ID", "delete scan ID (not while a server owns the store)", cli_rm},
	{NULL, NULL, NULL, NULL},
};

const struct cli_command *cli_command_find(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}
