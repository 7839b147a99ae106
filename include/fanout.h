/* fanout.h - one zone's statistics split into parts that run at once: the
 * zonal plan's chunks (zonal.h) grouped into contiguous parts, each part's
 * mergeable accumulators (stats.h) folded in part order. Parts run on the
 * local server's part threads (each with its own worker and GDAL handles), or
 * on Lambda as invocations of the function itself (the Invoke API, signed
 * with SigV4 by libcurl), the coordinator computing a part of its own
 * meanwhile. See docs/ZONAL.md, "Fan-out". */
#ifndef COGTILER_FANOUT_H
#define COGTILER_FANOUT_H

#include <stddef.h>

#include "app.h"
#include "geom.h"
#include "stats.h"
#include "zonal.h"

#define FANOUT_MAX_PARTS 1024
/* A part must have answered this long before the coordinator's deadline, so
 * that a failure can still be answered (504). */
#define FANOUT_MARGIN_MS 1000

struct fanout;

/* Where a part reads: a configured layer, or an ad-hoc url= source (which a
 * part opens through the same allow-list and gate as the coordinator). */
struct fanout_source {
    const char *layer; /* one of the two is non-NULL */
    const char *url;
};

/* Parts on jobs threads of this process, each with its own worker of app.
 * 0 and *out (free with fanout_free before app_destroy), or CT_ENOMEM. */
int fanout_local_new(struct app *app, int jobs, struct fanout **out);

/* Parts as invocations of this Lambda function: its name and version
 * (AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION), region, the
 * function's credentials, and the endpoint (AWS_ENDPOINT_URL_LAMBDA, else
 * AWS_ENDPOINT_URL, else https://lambda.REGION.amazonaws.com), at most
 * concurrency in flight. 0 and *out, or CT_ECONFIG (msg says what is
 * missing) or CT_ENOMEM. */
int fanout_lambda_new(int concurrency, struct fanout **out, char *msg, size_t msgcap);

/* The URL a Lambda fan-out invokes (the function itself, its version as
 * the Qualifier unless $LATEST), or NULL for the local part threads. */
const char *fanout_invoke_url(const struct fanout *f);

/* NULL-safe; waits for the part threads to finish. */
void fanout_free(struct fanout *f);

/* The number of parts for a zone of plan: parts when > 0 (the request's
 * parts=, 1..FANOUT_MAX_PARTS), else one per part_cells of the window once
 * it has min_cells (1 below, or without f); never more than the chunks. */
int fanout_count(const struct fanout *f, const struct zonal_plan *plan, int parts,
                 long long min_cells, long long part_cells);

/* The statistics of zz (polys on the coordinator's dataset of src, opened
 * with o) in nparts parts, merged in part order into out[0..o->nbands)
 * (made with stats_new): the same answer as zonal_run(zz, o, ...) to
 * rounding of floating sums. The coordinator's parts run on zz; part
 * threads and invocations open the zone again on their own dataset.
 * Without f every part runs here, one after another. A part that fails is
 * tried once more; then CT_ESOURCE (502), or CT_ETIMEOUT when the deadline
 * is the cause, msg naming the part. A throttled invocation (429) backs off,
 * then the part is computed here. */
int fanout_run(struct fanout *f, struct zonal_zone *zz, const struct fanout_source *src,
               const struct polygon *polys, size_t n, const struct zonal_opts *o, int nparts,
               struct stats **out, struct zonal_info *info, char *msg, size_t msgcap);

/* A part event's body (the cJSON object under "cogtiler_part") computed on
 * w: *json (free with free()) is the part's answer, its accumulators or its
 * error. deadline_ms (epoch ms, 0 = none) is this invocation's; the event's
 * own is kept when earlier. 0, or CT_ENOMEM. */
int fanout_part(struct worker *w, const void *part, long long deadline_ms, char **json,
                size_t *json_len);

#endif
