/* cli.h - the command line as a transport: each command builds the struct
 * request a URL would carry (http.h) and hands it to the service, or starts
 * the server or the Lambda runtime. argv is the whole command line, argv[1]
 * the command. Exit statuses: 0 done; 3 not found (HTTP 404); 1 any other
 * error; 2 bad usage. */
#ifndef COGTILER_CLI_H
#define COGTILER_CLI_H

#include "http.h"

extern const char cli_usage[];

/* bootstrap tile Z/X/Y [--layer NAME | --source PATH] [--config FILE]
 *   [--colormap NAME] [--rescale MIN,MAX] [--tilesize 256|512] -o OUT.png */
int cli_tile(int argc, char **argv);

/* bootstrap request [-X METHOD] PATH[?QUERY] [-H 'Name: value']... [--body FILE|-]
 *   [-o OUT] [--config FILE]: one request to the service, the body on stdout
 *   (or OUT), the status line and headers on stderr. */
int cli_request(int argc, char **argv);

/* The same with a given service and context (for tests of the transport). */
int cli_request_with(const struct http_service *svc, void *ctx, int argc, char **argv);

/* bootstrap stats (--layer NAME | --source PATH) [--config FILE] --geojson FILE|-
 *   [--query Q]: POST /statistics/LAYER?Q with the GeoJSON, the answer on stdout
 *   (the error on stderr); a progress line on stderr when it is a terminal. */
int cli_stats(int argc, char **argv);

/* bootstrap pyramid (--layer NAME | --source PATH) [--config FILE] [--zoom MIN-MAX]
 *   [--bbox W,S,E,N] [--format png|webp|jpg] [--jobs N] [--query Q] -o OUT.mbtiles|DIR/:
 *   every tile of the zooms (default: the layer's) over the layer's bounds (and
 *   the box) rendered by the service on N threads into an MBTiles file or a
 *   folder (pyramid.h, tilestore.h); tiles already there are kept. Exit
 *   statuses: 0; 1 a tile failed (the others are written) or the output
 *   cannot be written; 2 bad usage; 3 no such layer; 130 interrupted by
 *   SIGINT (what was rendered is committed: run again to resume). */
int cli_pyramid(int argc, char **argv);

/* bootstrap invoke [EVENT.json | -]: one Lambda event -> the response payload. */
int cli_invoke(int argc, char **argv);

/* bootstrap serve [--host H] [--port P] [--workers N] [--config FILE]
 *   [--deadline S] [--receive-timeout S] */
int cli_serve(int argc, char **argv);

/* The Lambda custom runtime at api (AWS_LAMBDA_RUNTIME_API). */
int cli_lambda(const char *api);

#endif
