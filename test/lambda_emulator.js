#!/usr/bin/env node
// lambda_emulator.js - a local AWS Lambda Runtime API (version 2018-06-01) for
// tests: a custom runtime (./bootstrap) talks to it through
// AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT exactly as it would inside Lambda, and
// the test drives it through a control interface under /test/ on the same port.
// Node's standard library only (and test/lib/lambda_util.js). See test/lambda/README.md.
//
//   node test/lambda_emulator.js [--timeout-ms 30000] [--idle-s 120]
//        [--max-lifetime-s 1800] [--max-response 6291456] [--max-event 6291456]
//        [--function-name NAME] [--region us-east-1] [--keep N] [--quiet]
//
// --keep N forgets all but the last N invocations (a soak of 100,000 would
// otherwise keep every payload). Listens on 127.0.0.1 on a free port and prints "PORT N" as the first line of
// stdout. Exits by itself after --idle-s seconds without any request (a runtime
// blocked on /next does not count as activity) and after --max-lifetime-s.
//
// Runtime API (the behaviour follows AWS's docs and aws-lambda-runtime-interface-emulator):
//   GET  /2018-06-01/runtime/invocation/next        blocks until an event is queued;
//        200, the event bytes, Lambda-Runtime-Aws-Request-Id, -Deadline-Ms,
//        -Invoked-Function-Arn, -Trace-Id (+ -Client-Context, -Cognito-Identity when set).
//        403 InvalidStateTransition after an init error.
//   POST /2018-06-01/runtime/invocation/{id}/response  202 {"status":"OK"};
//        413 RequestEntityTooLarge above --max-response bytes (the invocation then
//        ends with the error Function.ResponseSizeTooLarge, as in Lambda);
//        400 InvalidRequestID for an id that is not the current invocation;
//        403 InvalidStateTransition when the current one was already answered.
//   POST /2018-06-01/runtime/invocation/{id}/error     202; records the body and the
//        Lambda-Runtime-Function-Error-Type header. Same 400/403 rules.
//   POST /2018-06-01/runtime/init/error                202 before the first /next,
//        403 InvalidStateTransition after it (or after a first init error).
//
// Control interface (JSON unless said otherwise):
//   POST /test/event?[id=][&timeout_ms=][&deadline_ms=][&trace_id=][&arn=]
//        [&client_context=][&cognito_identity=]   body = the event, sent as is
//        -> 201 {"id":..} (413 over --max-event bytes). deadline_ms is an absolute
//        epoch-ms deadline; timeout_ms is relative to the moment the runtime receives
//        the event (default --timeout-ms).
//   POST /test/invoke?[same]&wait_s=30   enqueue and wait: -> 200 outcome, or 504 outcome
//        with kind "pending" when the runtime did not answer in time.
//   GET  /test/outcome/ID?wait_s=N       -> 200 outcome (waits up to N s; 504 if still pending)
//   GET  /test/outcome/ID/payload?wait_s=N -> the raw body the runtime posted
//   GET  /test/init-errors?wait_s=N      -> [init error, ...] (waits for the first one)
//   GET  /test/state                     -> phase, queue, counters, protocol errors, log
//   POST /test/config?[max_response=BYTES][&timeout_ms=MS] -> changes those limits
//   POST /test/shutdown                  -> 200, then closes the listening socket,
//        drops every connection (a pending /next included) and exits 0.
// An outcome: {id, kind: "pending"|"response"|"error"|"abandoned"|"init_error",
//   apiStatus (what the runtime was answered), payload (string), payloadBytes,
//   contentType, errorType (header), errorBody (string), error (parsed JSON or null),
//   deadlineMs, servedAt, completedAt, late (answered after the deadline), headers}.
'use strict';

const http = require('http');
const { readBody: readBodyCapped, uuid, traceId, parseJSON } = require('./lib/lambda_util.js');

const API = '/2018-06-01';
const DRAIN_CAP = 64 * 1024 * 1024; // bodies beyond this are cut off (connection dropped)
const readBody = (req, limit) => readBodyCapped(req, limit, DRAIN_CAP);

function parseArgs(argv) {
    const o = {
        timeoutMs: 30000, idleS: 120, maxLifetimeS: 1800, maxResponse: 6291456, maxEvent: 6291456,
        functionName: 'cogtiler', region: 'us-east-1', quiet: false, keep: 0,
    };
    const num = { '--timeout-ms': 'timeoutMs', '--idle-s': 'idleS', '--max-lifetime-s': 'maxLifetimeS',
        '--max-response': 'maxResponse', '--max-event': 'maxEvent', '--keep': 'keep' };
    const str = { '--function-name': 'functionName', '--region': 'region' };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--quiet') { o.quiet = true; continue; }
        if ((num[a] || str[a]) && i + 1 < argv.length) {
            const v = argv[++i];
            if (num[a]) {
                const n = Number(v);
                if (!Number.isFinite(n) || n < 0) die(`bad value for ${a}: ${v}`);
                o[num[a]] = n;
            } else {
                o[str[a]] = v;
            }
            continue;
        }
        die(`unknown argument ${a}\n(see the comment at the top of ${__filename})`);
    }
    return o;
}

function die(msg) {
    process.stderr.write(`lambda_emulator: ${msg}\n`);
    process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const accountId = '123456789012';
const functionArn = `arn:aws:lambda:${opts.region}:${accountId}:function:${opts.functionName}`;

const st = {
    phase: 'init',         // 'init' (no /next yet) | 'running' | 'init_error'
    queue: [],             // invocations not yet handed out
    waitingNext: [],       // {req, res} of blocked GET /next
    current: null,         // the invocation handed out last (answered or not)
    invocations: new Map(),
    initErrors: [],
    initErrorWaiters: [],
    protocolErrors: [],    // every non-2xx answer given to the runtime
    log: [],               // the last requests, for /test/state
    counts: { next: 0, response: 0, error: 0, initError: 0, served: 0 },
    started: Date.now(),
};

const sockets = new Set();
let shuttingDown = false;

function log(msg) {
    if (!opts.quiet)
        process.stderr.write(`[lambda_emulator ${new Date().toISOString()}] ${msg}\n`);
}

// --- bounded life ------------------------------------------------------------
let idleTimer = null;
function touch() {
    if (idleTimer)
        clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
        log(`idle for ${opts.idleS} s, exiting`);
        shutdown(0);
    }, opts.idleS * 1000);
    idleTimer.unref();
}
setTimeout(() => {
    log(`running for ${opts.maxLifetimeS} s, exiting`);
    shutdown(0);
}, opts.maxLifetimeS * 1000).unref();

function shutdown(code) {
    if (shuttingDown)
        return;
    shuttingDown = true;
    server.close();
    for (const s of sockets)
        s.destroy();
    // Let stderr drain, then go.
    setImmediate(() => process.exit(code));
}
process.on('SIGTERM', () => { log('SIGTERM'); shutdown(0); });
process.on('SIGINT', () => { log('SIGINT'); shutdown(0); });

// --- helpers -----------------------------------------------------------------
function sendJSON(res, status, obj, extraHeaders) {
    const body = Buffer.from(JSON.stringify(obj));
    res.writeHead(status, Object.assign({ 'Content-Type': 'application/json',
        'Content-Length': body.length }, extraHeaders || {}));
    res.end(body);
}

// A Runtime API error answer (the shape Lambda uses), remembered as a protocol error.
function apiError(req, res, status, errorType, errorMessage) {
    st.protocolErrors.push({ t: Date.now(), method: req.method, path: req.url, status, errorType,
        errorMessage });
    log(`${req.method} ${req.url} -> ${status} ${errorType}: ${errorMessage}`);
    sendJSON(res, status, { errorMessage, errorType });
}





function outcomeOf(inv) {
    const o = Object.assign({ id: inv.id, kind: inv.kind, deadlineMs: inv.deadlineSent,
        enqueuedAt: inv.enqueuedAt, servedAt: inv.servedAt, completedAt: inv.completedAt }, inv.result);
    delete o.raw; // served by /test/outcome/ID/payload
    if (inv.servedAt && inv.completedAt)
        o.durationMs = inv.completedAt - inv.servedAt;
    if (inv.completedAt && inv.deadlineSent)
        o.late = inv.completedAt > inv.deadlineSent;
    return o;
}

function complete(inv, kind, result) {
    inv.kind = kind;
    inv.result = result;
    inv.completedAt = Date.now();
    const w = inv.waiters;
    inv.waiters = [];
    for (const f of w)
        f();
    while (opts.keep > 0 && st.invocations.size > opts.keep)
        st.invocations.delete(st.invocations.keys().next().value);
}

// Waits until inv is no longer pending or wait_s passes; then calls done().
function whenDone(inv, waitS, done) {
    if (inv.kind !== 'pending' || !(waitS > 0))
        return done();
    let fired = false;
    const fire = () => { if (!fired) { fired = true; clearTimeout(t); done(); } };
    const t = setTimeout(fire, waitS * 1000);
    inv.waiters.push(fire);
}

function queryOpts(u) {
    const q = u.searchParams;
    const numOrNull = (k) => (q.has(k) && q.get(k) !== '' ? Number(q.get(k)) : null);
    return {
        id: q.get('id') || uuid(),
        timeoutMs: numOrNull('timeout_ms'),
        deadlineMs: numOrNull('deadline_ms'),
        traceId: q.get('trace_id'),
        arn: q.get('arn'),
        clientContext: q.get('client_context'),
        cognitoIdentity: q.get('cognito_identity'),
        waitS: q.has('wait_s') ? Number(q.get('wait_s')) : 30,
    };
}

// --- the invocation queue ------------------------------------------------------
function enqueue(o, body) {
    if (st.invocations.has(o.id))
        return null;
    const inv = { id: o.id, body, timeoutMs: o.timeoutMs, deadlineMs: o.deadlineMs,
        traceId: o.traceId, arn: o.arn, clientContext: o.clientContext,
        cognitoIdentity: o.cognitoIdentity, enqueuedAt: Date.now(), kind: 'pending',
        result: {}, waiters: [] };
    st.invocations.set(inv.id, inv);
    if (st.phase === 'init_error') {
        // Lambda answers the invoke with the init error (the runtime has exited).
        failWithInitError(inv);
    } else {
        st.queue.push(inv);
        dispatch();
    }
    return inv;
}

function failWithInitError(inv) {
    const e = st.initErrors[0];
    complete(inv, 'init_error', { apiStatus: null, errorType: e.errorType, errorBody: e.body,
        error: e.error });
}

function dispatch() {
    while (st.waitingNext.length && st.queue.length) {
        const w = st.waitingNext.shift();
        if (w.res.destroyed || w.res.writableEnded)
            continue;
        serve(w.req, w.res, st.queue.shift());
    }
}

function serve(req, res, inv) {
    const now = Date.now();
    const prev = st.current;
    if (prev && prev.kind === 'pending') {
        // The runtime asked for more work without answering: Lambda would let this
        // invocation time out. Recorded so the test can see it.
        st.protocolErrors.push({ t: now, method: req.method, path: req.url, status: 200,
            errorType: 'AbandonedInvocation',
            errorMessage: `GET /next before answering ${prev.id}` });
        complete(prev, 'abandoned', { apiStatus: null });
    }
    inv.servedAt = now;
    inv.deadlineSent = inv.deadlineMs != null ? inv.deadlineMs : now + (inv.timeoutMs != null ? inv.timeoutMs : opts.timeoutMs);
    inv.traceSent = inv.traceId || traceId();
    st.current = inv;
    st.counts.served++;
    const h = {
        'Content-Type': 'application/json',
        'Content-Length': inv.body.length,
        'Lambda-Runtime-Aws-Request-Id': inv.id,
        'Lambda-Runtime-Deadline-Ms': String(inv.deadlineSent),
        'Lambda-Runtime-Invoked-Function-Arn': inv.arn || functionArn,
        'Lambda-Runtime-Trace-Id': inv.traceSent,
    };
    if (inv.clientContext)
        h['Lambda-Runtime-Client-Context'] = inv.clientContext;
    if (inv.cognitoIdentity)
        h['Lambda-Runtime-Cognito-Identity'] = inv.cognitoIdentity;
    res.writeHead(200, h);
    res.end(inv.body);
    log(`GET /next -> 200 id=${inv.id} (${inv.body.length} bytes, deadline in ${inv.deadlineSent - now} ms)`);
}

// --- Runtime API handlers -------------------------------------------------------
function handleNext(req, res) {
    st.counts.next++;
    if (st.phase === 'init_error')
        return apiError(req, res, 403, 'InvalidStateTransition',
            'State transition from InitError to Ready failed for runtime. Error: State transition is not allowed');
    st.phase = 'running';
    st.waitingNext.push({ req, res });
    // A client that goes away while waiting leaves the queue.
    res.on('close', () => {
        const i = st.waitingNext.findIndex((w) => w.res === res);
        if (i >= 0)
            st.waitingNext.splice(i, 1);
    });
    dispatch();
}

// Checks {id} the way the RIE does; returns the invocation or null after answering.
function checkInvocation(req, res, id, to) {
    const inv = st.current;
    if (!id || !inv || inv.id !== id) {
        apiError(req, res, 400, 'InvalidRequestID', 'Invalid request ID');
        return null;
    }
    if (inv.kind !== 'pending') {
        const from = inv.kind === 'response' ? 'InvocationResponse' : 'InvocationErrorResponse';
        apiError(req, res, 403, 'InvalidStateTransition',
            `State transition from ${from} to ${to} failed for runtime. Error: State transition is not allowed`);
        return null;
    }
    return inv;
}

async function handleResponse(req, res, id) {
    st.counts.response++;
    const { buf, size } = await readBody(req, opts.maxResponse);
    const inv = checkInvocation(req, res, id, 'InvocationResponse');
    if (!inv)
        return;
    const common = { contentType: req.headers['content-type'] || null,
        responseMode: req.headers['lambda-runtime-function-response-mode'] || null,
        headers: req.headers };
    if (buf === null) {
        const msg = `Response payload size (${size} bytes) exceeded maximum allowed payload size (${opts.maxResponse} bytes).`;
        const errorBody = JSON.stringify({ errorMessage: msg, errorType: 'Function.ResponseSizeTooLarge' });
        complete(inv, 'error', Object.assign(common, { apiStatus: 413, payloadBytes: size,
            errorType: 'Function.ResponseSizeTooLarge', errorBody, error: JSON.parse(errorBody) }));
        st.protocolErrors.push({ t: Date.now(), method: req.method, path: req.url, status: 413,
            errorType: 'RequestEntityTooLarge', errorMessage: msg });
        log(`POST response id=${id} -> 413 (${size} bytes)`);
        return sendJSON(res, 413, { errorMessage: `Exceeded maximum allowed payload size (${opts.maxResponse} bytes).`,
            errorType: 'RequestEntityTooLarge' });
    }
    complete(inv, 'response', Object.assign(common, { apiStatus: 202, payload: buf.toString('utf8'),
        payloadBytes: size, raw: buf }));
    log(`POST response id=${id} -> 202 (${size} bytes)`);
    sendJSON(res, 202, { status: 'OK' });
}


async function handleError(req, res, id) {
    st.counts.error++;
    const { buf, size } = await readBody(req, opts.maxResponse);
    const inv = checkInvocation(req, res, id, 'InvocationErrorResponse');
    if (!inv)
        return;
    const body = buf ? buf.toString('utf8') : '';
    complete(inv, 'error', { apiStatus: 202, errorType: req.headers['lambda-runtime-function-error-type'] || null,
        xrayErrorCause: req.headers['lambda-runtime-function-xray-error-cause'] || null,
        contentType: req.headers['content-type'] || null, errorBody: body, error: parseJSON(body),
        payloadBytes: size, raw: buf || Buffer.alloc(0), headers: req.headers });
    log(`POST error id=${id} -> 202 type=${req.headers['lambda-runtime-function-error-type'] || '-'} ${body.slice(0, 200)}`);
    sendJSON(res, 202, { status: 'OK' });
}

async function handleInitError(req, res) {
    st.counts.initError++;
    const { buf } = await readBody(req, opts.maxResponse);
    if (st.phase !== 'init') {
        const from = st.phase === 'init_error' ? 'InitError' : 'Ready';
        return apiError(req, res, 403, 'InvalidStateTransition',
            `State transition from ${from} to InitError failed for runtime. Error: State transition is not allowed`);
    }
    const body = buf ? buf.toString('utf8') : '';
    const e = { t: Date.now(), errorType: req.headers['lambda-runtime-function-error-type'] || null,
        contentType: req.headers['content-type'] || null, body, error: parseJSON(body) };
    st.initErrors.push(e);
    st.phase = 'init_error';
    log(`POST init/error -> 202 type=${e.errorType || '-'} ${body.slice(0, 200)}`);
    sendJSON(res, 202, { status: 'OK' });
    for (const inv of st.queue.splice(0))
        failWithInitError(inv);
    for (const f of st.initErrorWaiters.splice(0))
        f();
}

// --- control interface ---------------------------------------------------------
async function handleTest(req, res, u) {
    const p = u.pathname;
    if (req.method === 'POST' && (p === '/test/event' || p === '/test/invoke')) {
        const o = queryOpts(u);
        const { buf, size } = await readBody(req, opts.maxEvent);
        if (buf === null) // Lambda refuses such an invoke before the runtime sees it
            return sendJSON(res, 413, { errorType: 'RequestEntityTooLarge',
                errorMessage: `event of ${size} bytes exceeds ${opts.maxEvent} bytes` });
        const inv = enqueue(o, buf);
        if (!inv)
            return sendJSON(res, 409, { error: `id ${o.id} already used` });
        if (p === '/test/event')
            return sendJSON(res, 201, { id: inv.id });
        return whenDone(inv, o.waitS, () => {
            if (!res.destroyed)
                sendJSON(res, inv.kind === 'pending' ? 504 : 200, outcomeOf(inv));
        });
    }
    let m;
    if (req.method === 'GET' && (m = /^\/test\/outcome\/([^/]+)(\/payload)?$/.exec(p))) {
        const inv = st.invocations.get(decodeURIComponent(m[1]));
        if (!inv)
            return sendJSON(res, 404, { error: 'no such invocation' });
        const waitS = u.searchParams.has('wait_s') ? Number(u.searchParams.get('wait_s')) : 0;
        return whenDone(inv, waitS, () => {
            if (res.destroyed)
                return;
            if (!m[2])
                return sendJSON(res, inv.kind === 'pending' ? 504 : 200, outcomeOf(inv));
            const raw = inv.result.raw || Buffer.alloc(0);
            res.writeHead(inv.kind === 'pending' ? 504 : 200, { 'Content-Type': 'application/octet-stream',
                'Content-Length': raw.length });
            res.end(raw);
        });
    }
    if (req.method === 'GET' && p === '/test/init-errors') {
        const waitS = u.searchParams.has('wait_s') ? Number(u.searchParams.get('wait_s')) : 0;
        const reply = () => { if (!res.destroyed) sendJSON(res, 200, st.initErrors); };
        if (st.initErrors.length || !(waitS > 0))
            return reply();
        let fired = false;
        const fire = () => { if (!fired) { fired = true; clearTimeout(t); reply(); } };
        const t = setTimeout(fire, waitS * 1000);
        st.initErrorWaiters.push(fire);
        return;
    }
    if (req.method === 'GET' && p === '/test/state') {
        const kinds = {};
        for (const inv of st.invocations.values())
            kinds[inv.kind] = (kinds[inv.kind] || 0) + 1;
        return sendJSON(res, 200, { phase: st.phase, queued: st.queue.length,
            waitingNext: st.waitingNext.length, current: st.current ? st.current.id : null,
            currentKind: st.current ? st.current.kind : null, counts: st.counts, outcomes: kinds,
            initErrors: st.initErrors.length, protocolErrors: st.protocolErrors,
            uptimeMs: Date.now() - st.started, log: st.log });
    }
    if (req.method === 'POST' && p === '/test/config') {
        for (const [k, key] of [['max_response', 'maxResponse'], ['timeout_ms', 'timeoutMs']]) {
            if (!u.searchParams.has(k))
                continue;
            const v = Number(u.searchParams.get(k));
            if (!Number.isFinite(v) || v < 0)
                return sendJSON(res, 400, { error: `bad ${k}` });
            opts[key] = v;
        }
        return sendJSON(res, 200, { maxResponse: opts.maxResponse, timeoutMs: opts.timeoutMs });
    }
    if (req.method === 'POST' && p === '/test/shutdown') {
        log('shutdown requested');
        const body = Buffer.from('{"status":"shutting down"}');
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length,
            Connection: 'close' });
        return res.end(body, () => shutdown(0));
    }
    sendJSON(res, 404, { error: `no such control endpoint: ${req.method} ${p}` });
}

// --- server ----------------------------------------------------------------------
async function route(req, res) {
    let u;
    try {
        u = new URL(req.url, 'http://127.0.0.1');
    } catch (e) {
        return sendJSON(res, 400, { errorMessage: 'bad URL', errorType: 'InvalidRequest' });
    }
    const p = u.pathname;
    if (p.startsWith('/test/'))
        return handleTest(req, res, u);
    let m;
    if (p === `${API}/runtime/invocation/next`) {
        if (req.method !== 'GET')
            return apiError(req, res, 405, 'MethodNotAllowed', `${req.method} not allowed on ${p}`);
        return handleNext(req, res);
    }
    if ((m = new RegExp(`^${API}/runtime/invocation/([^/]*)/(response|error)$`).exec(p))) {
        if (req.method !== 'POST')
            return apiError(req, res, 405, 'MethodNotAllowed', `${req.method} not allowed on ${p}`);
        let id;
        try { id = decodeURIComponent(m[1]); } catch (e) { id = m[1]; }
        return m[2] === 'response' ? handleResponse(req, res, id) : handleError(req, res, id);
    }
    if (p === `${API}/runtime/init/error`) {
        if (req.method !== 'POST')
            return apiError(req, res, 405, 'MethodNotAllowed', `${req.method} not allowed on ${p}`);
        return handleInitError(req, res);
    }
    // Drain whatever was sent so the client sees the answer, not a reset.
    await readBody(req, 0);
    apiError(req, res, 404, 'NotFound', `no such Runtime API path: ${req.method} ${p}`);
}

const server = http.createServer((req, res) => {
    touch();
    const entry = { t: Date.now(), method: req.method, path: req.url.slice(0, 200) };
    st.log.push(entry);
    if (st.log.length > 500)
        st.log.shift();
    res.on('finish', () => { entry.status = res.statusCode; touch(); });
    res.on('close', () => touch());
    route(req, res).catch((e) => {
        log(`internal error: ${e && e.stack}`);
        if (!res.headersSent)
            sendJSON(res, 500, { errorMessage: 'Internal Server Error', errorType: 'InternalServerError' });
        else
            res.destroy();
    });
});
// A runtime may wait on /next for as long as it likes, and so may the test.
server.requestTimeout = 0;
server.headersTimeout = 60000;
server.keepAliveTimeout = 60000;
server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
});
server.on('error', (e) => die(`listen: ${e.message}`));
server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`PORT ${server.address().port}\n`);
    log(`Runtime API on 127.0.0.1:${server.address().port}, function timeout ${opts.timeoutMs} ms, ` +
        `idle exit after ${opts.idleS} s`);
    touch();
});
