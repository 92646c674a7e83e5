/* dynlib.h: a shared library opened when a command first needs it, not when the process starts.
 *
 * Every library an executable links is read, mapped and relocated before main() runs, used or
 * not. libmicrohttpd (GnuTLS behind it) and libgit2 (mbed TLS, libssh2, Kerberos behind it) were
 * 24 of the 33 libraries the binary loaded; `leindexd scan` needs neither (only the server and
 * the view git do), and carrying them made `leindexd --version` take 13 ms instead of 6 and a
 * scan of a cold tree about 20 ms slower (README, Performance, "Cold caches"). So api/mhd.c and
 * gitview.c open them here, once, when the server starts or an index is first read.
 *
 * Ownership: a library opened here is never closed: it stays mapped for the process's life, as
 * a linked one would, and so do the addresses resolved from it.
 * Thread safety: dynlib_open() may run in any thread (dlopen and dlsym are thread-safe); each
 * caller runs it once (pthread_once) and only reads the addresses after.
 */
#ifndef LEINDEX_DYNLIB_H
#define LEINDEX_DYNLIB_H

#include <stddef.h>

#include "base/errbuf.h"

/** One symbol to resolve, and where its address goes. */
struct dynlib_sym {
	const char *name;
	/** A function pointer's address cast to void ** (POSIX lets dlsym() fill one this way). */
	void **addr;
};

/**
 * Opens the library `soname` (e.g. "libgit2.so.1.5"; RTLD_NOW | RTLD_LOCAL) and resolves each of
 * syms[0..n). 0, or < 0 with `err` naming the library and what dlopen() or dlsym() said; after a
 * failure no address is to be used.
 */
int dynlib_open(const char *soname, const struct dynlib_sym *syms, size_t n, struct errbuf *err);

#endif
