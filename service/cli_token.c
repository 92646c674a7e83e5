/* cli_token.c: `leindexd token new` (see cli_token.h). */
#include "service/cli_token.h"

#include <openssl/crypto.h>
#include <stdio.h>

#include "api/auth.h"

int cli_token(const struct config *cfg)
{
	char token[64], line[192];
	struct errbuf err;
	errbuf_clear(&err);
	if (api_auth_mint(cfg->token_id, cfg->token_scope, token, sizeof(token), line, sizeof(line),
			  &err) < 0) {
		fprintf(stderr, "leindexd token new: %s\n", err.msg);
		return 2;
	}
	printf("token: %s\n"
	       "line for the --token-file (it holds no secret):\n%s\n"
	       "The token is shown only now; clients send it as: Authorization: Bearer %s\n"
	       "After editing the file, send the server SIGHUP to re-read it.\n",
	       token, line, token);
	OPENSSL_cleanse(token, sizeof(token));
	return fflush(stdout) == 0 ? 0 : 2;
}
