/* cpus.c: how many CPUs this process may really use (affinity mask and cgroup CPU quota). */
#include "service/scan/scanner.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads the cgroup v2 quota of this process ("max" or "QUOTA PERIOD"); 0 when none or unknown. */
static unsigned cpus_cgroup2_quota(void)
{
	char rel[512] = "";
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return 0;
	char line[600];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0 && strlen(line + 3) < sizeof(rel)) {
			memcpy(rel, line + 3, strlen(line + 3) + 1);
			rel[strcspn(rel, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
	unsigned best = 0;
	/* A quota anywhere up the hierarchy limits us: take the smallest one found. */
	for (;;) {
		char path[sizeof(rel) + 64];
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/cpu.max", strcmp(rel, "/") ? rel : "");
		FILE *m = fopen(path, "re");
		if (m) {
			char quota[32];
			unsigned long period = 0;
			if (fscanf(m, "%31s %lu", quota, &period) == 2 && strcmp(quota, "max") != 0 &&
			    period > 0) {
				unsigned long q = strtoul(quota, NULL, 10);
				unsigned n = (unsigned)((q + period - 1) / period);
				if (n == 0)
					n = 1;
				if (best == 0 || n < best)
					best = n;
			}
			fclose(m);
		}
		char *slash = strrchr(rel, '/');
		if (!slash || rel[0] == '\0' || strcmp(rel, "/") == 0)
			break;
		if (slash == rel)
			strcpy(rel, "/");
		else
			*slash = '\0';
	}
	return best;
}

/* cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us of the mounted hierarchy; 0 when none. */
static unsigned cpus_cgroup1_quota(void)
{
	long quota = -1, period = 0;
	FILE *f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "re");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &quota) != 1)
		quota = -1;
	fclose(f);
	f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "re");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &period) != 1)
		period = 0;
	fclose(f);
	if (quota <= 0 || period <= 0)
		return 0;
	unsigned n = (unsigned)((quota + period - 1) / period);
	return n ? n : 1;
}

unsigned scanner_default_workers(void)
{
	unsigned n = 1;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		int c = CPU_COUNT(&set);
		if (c > 0)
			n = (unsigned)c;
	}
	unsigned quota = cpus_cgroup2_quota();
	if (quota == 0)
		quota = cpus_cgroup1_quota();
	if (quota > 0 && quota < n)
		n = quota;
	if (n > 256)
		n = 256;
	return n;
}
