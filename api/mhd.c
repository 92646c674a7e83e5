/* mhd.c: libmicrohttpd's functions, resolved when the server starts (mhd.h). */
#include "api/mhd.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/dynlib.h"

/*
 * Written once, by mhd_once() under pthread_once, and only read after: a process-wide constant
 * that happens to be known late, like the addresses the dynamic linker would have filled in.
 */
static struct mhd_api mhd_table;
static struct errbuf mhd_err;
static int mhd_rc;
static pthread_once_t mhd_once_flag = PTHREAD_ONCE_INIT;

#define MHD_SYM(fn) {"MHD_" #fn, (void **)&mhd_table.fn}

static void mhd_once(void)
{
	const struct dynlib_sym syms[] = {
		MHD_SYM(add_response_header),
		MHD_SYM(create_response_from_buffer),
		MHD_SYM(create_response_from_buffer_with_free_callback),
		MHD_SYM(create_response_from_callback),
		MHD_SYM(destroy_response),
		MHD_SYM(get_connection_info),
		MHD_SYM(get_connection_values_n),
		MHD_SYM(get_daemon_info),
		MHD_SYM(lookup_connection_value),
		MHD_SYM(queue_response),
		MHD_SYM(quiesce_daemon),
		MHD_SYM(resume_connection),
		MHD_SYM(start_daemon),
		MHD_SYM(stop_daemon),
		MHD_SYM(suspend_connection),
	};
	errbuf_clear(&mhd_err);
	mhd_rc = dynlib_open(LEINDEX_MHD_SONAME, syms, sizeof(syms) / sizeof(syms[0]), &mhd_err);
}

int mhd_load(struct errbuf *err)
{
	pthread_once(&mhd_once_flag, mhd_once);
	if (mhd_rc < 0)
		return errbuf_set(err, mhd_rc, "%s", mhd_err.msg);
	return 0;
}

const struct mhd_api *mhd_api(void)
{
	pthread_once(&mhd_once_flag, mhd_once);
	if (mhd_rc < 0) {
		fprintf(stderr, "leindexd: %s\n", mhd_err.msg);
		abort();
	}
	return &mhd_table;
}
