/* mhd.h: libmicrohttpd, opened when the server starts (base/dynlib.h says why).
 *
 * Include this, never <microhttpd.h> alone (tests/lint/layers.py checks): it declares the
 * library's types and constants as <microhttpd.h> does, and turns each MHD_ function the service
 * calls into a call through the table mhd_load() filled, with the very type the header declares.
 * A function not listed here is not linked: add it to the table and to the list in mhd.c.
 *
 * Thread safety: mhd_load() is thread-safe and runs the loading once per process; the table is
 * written then and only read after, from any thread. It lives for the process's life.
 */
#ifndef LEINDEX_API_MHD_H
#define LEINDEX_API_MHD_H

#include <microhttpd.h>

#include "base/errbuf.h"

struct mhd_api {
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_create_response_from_buffer_with_free_callback)
		*create_response_from_buffer_with_free_callback;
	__typeof__(MHD_create_response_from_callback) *create_response_from_callback;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_get_connection_info) *get_connection_info;
	__typeof__(MHD_get_connection_values_n) *get_connection_values_n;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_quiesce_daemon) *quiesce_daemon;
	__typeof__(MHD_resume_connection) *resume_connection;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_suspend_connection) *suspend_connection;
};

/**
 * Opens libmicrohttpd (LEINDEX_MHD_SONAME, found by CMake) and resolves the table, once per
 * process; later calls return the first outcome. 0, or < 0 with `err` saying what could not be
 * loaded. The server calls it before anything else, so a missing library is a clear start-up
 * error, not a crash.
 */
int mhd_load(struct errbuf *err);

/**
 * The table. Loads it when mhd_load() has not run yet (unit tests, fuzz harnesses); when the
 * library cannot be loaded there is no way on, so it prints why and aborts: the server, which
 * calls mhd_load() first, never gets there.
 */
const struct mhd_api *mhd_api(void);

#define MHD_add_response_header (mhd_api()->add_response_header)
#define MHD_create_response_from_buffer (mhd_api()->create_response_from_buffer)
#define MHD_create_response_from_buffer_with_free_callback                                        \
	(mhd_api()->create_response_from_buffer_with_free_callback)
#define MHD_create_response_from_callback (mhd_api()->create_response_from_callback)
#define MHD_destroy_response (mhd_api()->destroy_response)
#define MHD_get_connection_info (mhd_api()->get_connection_info)
#define MHD_get_connection_values_n (mhd_api()->get_connection_values_n)
#define MHD_get_daemon_info (mhd_api()->get_daemon_info)
#define MHD_lookup_connection_value (mhd_api()->lookup_connection_value)
#define MHD_queue_response (mhd_api()->queue_response)
#define MHD_quiesce_daemon (mhd_api()->quiesce_daemon)
#define MHD_resume_connection (mhd_api()->resume_connection)
#define MHD_start_daemon (mhd_api()->start_daemon)
#define MHD_stop_daemon (mhd_api()->stop_daemon)
#define MHD_suspend_connection (mhd_api()->suspend_connection)

#endif
