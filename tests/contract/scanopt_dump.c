/* scanopt_dump: prints the table of scan options as JSON (scanopt_describe()), for
 * scanopt_openapi.py, which compares it with openapi.yaml. Exit 0, or 1 when out of memory. */
#include <stdio.h>
#include <stdlib.h>

#include "service/job/scanopt.h"

int main(void)
{
	json_t *d = scanopt_describe(scanopt_scan_table());
	char *text = d ? json_dumps(d, JSON_INDENT(2)) : NULL;
	json_decref(d);
	if (!text || puts(text) == EOF) {
		fprintf(stderr, "scanopt_dump: out of memory or stdout failed\n");
		free(text);
		return 1;
	}
	free(text);
	return 0;
}
