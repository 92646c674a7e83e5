/* scan_doc.h: the scan resource as JSON, shared by the API and the CLI (no libmicrohttpd here). */
#ifndef LEINDEX_API_SCAN_DOC_H
#define LEINDEX_API_SCAN_DOC_H

#include "api/jsonw.h"
#include "service/job/job.h"

/** Flags of api_scan_doc(). */
enum api_scan_doc_flags {
	/** Add "stats": the view's counters_json (read with JOBQ_VIEW_COUNTERS), or null. */
	API_SCAN_DOC_STATS = 1u << 0,
};

/**
 * Writes the scan resource of a merged view into `w` (scans.c): GET /scans/{id} with
 * API_SCAN_DOC_STATS, an item of GET /scans without. `leindexd scan --json` and `leindexd show
 * --json` print the same document. Pure; thread-safe on distinct writers.
 */
void api_scan_doc(const struct jobq_view *v, unsigned flags, struct jsonw *w);

#endif
