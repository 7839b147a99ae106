/* gate.h - the one place the bytes of untrusted (url=) HTTP sources are
 * fetched: a GDAL virtual file system ("/vsigate/URL") on the project's
 * libcurl. Every request it makes (each redirect hop included, which it
 * follows itself) is checked against the allow-list; every address it
 * connects to is checked at connect time (refused: loopback, private,
 * link-local, shared, multicast, reserved and unspecified addresses, IPv4 and
 * IPv6, unless the URL names that address literally), so a name cannot be
 * re-resolved elsewhere between check and use. Only http and https are
 * spoken, no proxy is used, and each request is bounded by the budget of the
 * client request it serves (gate_begin). */
#ifndef COGTILER_GATE_H
#define COGTILER_GATE_H

#include <stddef.h>

#define GATE_PREFIX "/vsigate/"

/* Process-wide set-up, once GDAL is initialised and before any gate name is
 * opened (again to change it; not while requests run). prefixes must outlive
 * every use. max_requests: requests one client request may cause; max_bytes:
 * the largest answer one request may carry. */
void gate_configure(const char *const *prefixes, size_t nprefixes, int max_requests,
                    long max_bytes);

/* The gate's name of an http(s) URL the allow-list admits: GATE_PREFIX + url.
 * CT_OK, or CT_ETOOBIG when it does not fit cap. */
int gate_name(const char *url, char *out, size_t cap);

/* Starts the budget of one client request on this thread: request count
 * zeroed, deadline_ms (epoch ms, 0 = none) bounding every wait, and the last
 * error cleared. gate_end() ends it; reads outside a request get a fresh
 * budget and no deadline. */
void gate_begin(long long deadline_ms);
void gate_end(void);

/* The error of this thread's last failed gate request (a ct_err, with its
 * message in msg), or CT_OK when none failed since gate_begin(). */
int gate_last_error(char *msg, size_t msgcap);

/* Upstream requests made on this thread since gate_begin(). */
int gate_requests(void);

/* True when addr (an IPv4 or IPv6 address in text) may be connected to for a
 * URL whose host is host: a public address, or exactly the literal host.
 * For the tests. */
int gate_address_allowed(const char *addr, const char *host);

#endif
