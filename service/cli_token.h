/* cli_token.h: `leindexd token new`, which makes an API token and the line that admits it. */
#ifndef LEINDEX_CLI_TOKEN_H
#define LEINDEX_CLI_TOKEN_H

#include "service/config.h"

/**
 * Prints a new token for cfg->token_id and cfg->token_scope on stdout (the secret, shown once),
 * and the line to add to the --token-file (which holds only its SHA-256). Returns the exit
 * status: 0, or 2 with the reason on stderr.
 */
int cli_token(const struct config *cfg);

#endif
