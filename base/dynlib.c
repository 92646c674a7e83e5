/* dynlib.c: shared libraries opened on first use (dynlib.h). */
#include "base/dynlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

int dynlib_open(const char *soname, const struct dynlib_sym *syms, size_t n, struct errbuf *err)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		size_t len = strlen(soname);
		/* glibc says "SONAME: cannot open shared object file: ...": name it once. */
		if (why && strncmp(why, soname, len) == 0 && strncmp(why + len, ": ", 2) == 0)
			why += len + 2;
		return errbuf_set(err, -ENOENT, "loading %s: %s", soname, why ? why : "not found");
	}
	for (size_t i = 0; i < n; i++) {
		dlerror();
		void *p = dlsym(h, syms[i].name);
		if (!p) {
			const char *why = dlerror();
			/* Not closed: like every library opened here, it stays mapped. */
			return errbuf_set(err, -ENOENT, "loading %s: no symbol %s (%s)", soname,
					  syms[i].name, why ? why : "not found");
		}
		*syms[i].addr = p;
	}
	return 0;
}
