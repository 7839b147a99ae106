#!/usr/bin/env node
// lambda_pool.js - a test double of the AWS Lambda service for the fan-out: a pool
// of "sandboxes", each one a real ./bootstrap process with its own Runtime API
// (version 2018-06-01, as test/lambda_emulator.js serves it), behind a SigV4-checked
// Invoke API (2015-03-31), so that the function can invoke itself through
// AWS_ENDPOINT_URL_LAMBDA exactly as it would in Lambda. A control interface under
// /test/ on the same port lets a test send the first event, inject faults and read
// counters. Node's standard library plus the npm package aws4 (pinned in
// test/lambda/package.json; `cd test/lambda && npm ci`). See test/lambda/README.md.
//
//   node test/lambda_pool.js [--sandboxes 4] [--concurrency N] [--bootstrap ./bootstrap]
//        [--function-name cogtiler] [--memory-mb 1024] [--region us-east-1]
//        [--access-key AKIDTESTPOOL] [--secret-key S] [--session-token T]
//        [--timeout-ms 30000] [--log-dir DIR] [--idle-s 120] [--max-lifetime-s 1800]
//        [--max-payload 6291456] [--max-response 6291456] [--account-id 123456789012]
//        [--sandbox-secret-key S] [--quiet]
//
// --sandbox-secret-key gives the sandboxes a secret other than the one the Invoke
// API checks against (a function whose credentials are wrong: every invocation it
// signs is refused with 403 InvalidSignatureException).
// Listens on 127.0.0.1 on a free port and prints "PORT N" as the first line of
// stdout, once every listener is up (the bootstrap processes start right after).
// --concurrency is the function's reserved concurrency (default: --sandboxes).
// --session-token '' configures no token (then none may be sent). Exits by itself
// after --idle-s seconds without any request (and no invocation in flight), after
// --max-lifetime-s, on SIGTERM/SIGINT/SIGHUP and on POST /test/shutdown. Every
// exit kills the bootstrap processes (they also get SIGKILL from the kernel if this
// process dies: setpriv --pdeathsig, when util-linux's setpriv is there).
//
// Sandboxes: each runs one `bootstrap` (no arguments) with this process's
// environment plus AWS_LAMBDA_RUNTIME_API=127.0.0.1:<its own Runtime API port>,
// AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION=$LATEST,
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_REGION, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:<PORT>.
// Its stdout and stderr go to DIR/sandbox-<i>.log with --log-dir, else to this
// process's stderr. A process that exits is started again (a quick death again
// and again backs off up to 5 s). One invocation at a time per sandbox: an
// invocation is handed out on a sandbox's GET /next, with Lambda-Runtime-Deadline-Ms
// = now + the timeout.
//
// Invoke API: POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=Q]
//   FunctionName: the name, name:qualifier, a partial (ACCOUNT:function:name) or full
//   ARN. Checks, in this order (error bodies {"Type":"User","message":...} with the
//   header x-amzn-ErrorType: NAME):
//   403 MissingAuthenticationTokenException  no Authorization header
//   403 IncompleteSignatureException  a malformed Authorization, no X-Amz-Date/Date
//   403 InvalidSignatureException  scope: region, service (lambda), terminator, date;
//       X-Amz-Date more than 15 minutes off ("Signature expired: ..."/"not yet current")
//   403 UnrecognizedClientException  unknown access key; X-Amz-Security-Token missing,
//       wrong, or sent when none is configured
//   413 RequestTooLargeException  payload over --max-payload bytes
//   403 InvalidSignatureException  the signature, recomputed with aws4 from the method,
//       path, query, body and exactly the headers named in SignedHeaders, differs
//       (the expected canonical request is logged to stderr); an x-amz-content-sha256
//       that is not the body's hash
//   404 ResourceNotFoundException  another function, or a qualifier other than $LATEST
//   400 InvalidParameterValueException  X-Amz-Invocation-Type other than RequestResponse
//       (DryRun -> 204), a qualifier in the name and another in ?Qualifier=
//   400 InvalidRequestContentException  a payload that is not JSON (empty -> "{}")
//   429 TooManyRequestsException  --concurrency invocations already in flight (queued
//       or running, /test/invoke ones included), body {"Reason":
//       "ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}
//   Then it waits for a free sandbox (FIFO) and answers 200 with X-Amz-Executed-Version:
//   $LATEST and x-amzn-RequestId: the body the runtime posted to /response, or with
//   X-Amz-Function-Error: Unhandled and
//     the body the runtime posted to /error;
//     {"errorType":"Sandbox.Timedout","errorMessage":"RequestId: ID Error: Task timed out
//       after 30.00 seconds"} past the deadline (the process is SIGKILLed and restarted);
//     {"errorType":"Runtime.ExitError","errorMessage":"RequestId: ID Error: Runtime exited
//       with error: signal: killed"} (or "exit status N", or "Runtime exited without
//       providing a reason" for status 0) when the process dies during the invocation;
//     {"errorMessage":"Response payload size (N bytes) exceeded maximum allowed payload
//       size (6291456 bytes).","errorType":"Function.ResponseSizeTooLarge"};
//     the init error a sandbox posted to /runtime/init/error (the oldest queued
//       invocation gets it; the process is then killed and restarted).
//
// Control interface (unsigned; JSON):
//   POST   /test/invoke?[timeout_ms=MS]  body = the event: dispatched like an Invoke
//          (same queue and concurrency; no signature; faults never apply), waits, ->
//          200 {id, status, functionError, errorType, payload (string), durationMs,
//          sandbox, pid, outcome} (status = what Invoke would have answered).
//   POST   /test/fault?kind=crash|hang|throttle|error[&match=SUBSTRING][&count=N]
//          the next N (default 1) accepted signed Invokes whose payload contains
//          SUBSTRING: throttle -> 429 as above, error -> 500 ServiceException (neither
//          dispatched); crash -> dispatched, the process SIGKILLed 50 ms after it took
//          the event (a response it posts meanwhile is held) -> Runtime.ExitError;
//          hang -> the process SIGSTOPped as it takes the event, SIGKILLed at the
//          deadline -> Sandbox.Timedout. -> 201 {id, kind, match, remaining}
//   GET    /test/faults   -> [{id, kind, match, remaining}]   DELETE /test/faults -> cleared
//   GET    /test/ready?[count=N][&wait_s=S]  waits until N (default all) sandboxes sit in
//          GET /next -> 200 {ready}, or 504 {ready} after S (default 0) seconds.
//   GET    /test/state  -> {counts, inFlight, queued, sandboxes: [{index, pid, pids,
//          apiPort, state, invocations, restarts, cpuMs}], faults, records (the last 500:
//          {id, via: "invoke"|"test", bytes, sandbox, pid, outcome, status,
//          functionError, durationMs, qualifier, fault, t}), protocolErrors, initErrors}
//   GET    /test/cpu    -> {cpu_ms, live_ms, exited_ms, clk_tck}: user + system CPU time
//          of every sandbox process so far. exited_ms is exact (this process's cutime
//          + cstime: the children it has waited for); live_ms is read from
//          /proc/PID/stat (utime + stime + cutime + cstime).
//   POST   /test/shutdown  kills every sandbox, waits for them, -> 200, exits 0.
'use strict';

const http = require('http');
const crypto = require('crypto');
const { readBody: readBodyCapped, uuid, traceId, parseJSON } = require('./lib/lambda_util.js');
const fs = require('fs');
const path = require('path');
const { spawn, execFileSync } = require('child_process');

const API = '/2018-06-01';
const DRAIN_CAP = 64 * 1024 * 1024; // bodies beyond this are cut off (connection dropped)
const readBody = (req, limit) => readBodyCapped(req, limit, DRAIN_CAP);
const KEEP_RECORDS = 500;
const CLOCK_SKEW_MS = 15 * 60 * 1000;

function die(msg) {
    process.stderr.write(`lambda_pool: ${msg}\n`);
    process.exit(2);
}

let aws4;
try {
    aws4 = require(path.join(__dirname, 'lambda', 'node_modules', 'aws4'));
} catch (e) {
    die(`the npm package aws4 is not installed (cd test/lambda && npm ci --no-audit --no-fund): ${e.message}`);
}

function parseArgs(argv) {
    const o = {
        sandboxes: 4, concurrency: null, bootstrap: './bootstrap', functionName: 'cogtiler',
        memoryMb: 1024, region: 'us-east-1', accessKey: 'AKIDTESTPOOL',
        secretKey: 'testPoolSecret/0123456789+abcdefghijklmnopqrs',
        sessionToken: 'IQoJb3JpZ2luX2VjETESTPOOL//////////wEaCXVzLWVhc3QtMSJHMEUCIQDtestpool+token=',
        timeoutMs: 30000, logDir: null, idleS: 120, maxLifetimeS: 1800,
        maxPayload: 6291456, maxResponse: 6291456, accountId: '123456789012', quiet: false,
        sandboxSecretKey: null,
    };
    const num = { '--sandboxes': 'sandboxes', '--concurrency': 'concurrency', '--memory-mb': 'memoryMb',
        '--timeout-ms': 'timeoutMs', '--idle-s': 'idleS', '--max-lifetime-s': 'maxLifetimeS',
        '--max-payload': 'maxPayload', '--max-response': 'maxResponse' };
    const str = { '--bootstrap': 'bootstrap', '--function-name': 'functionName', '--region': 'region',
        '--access-key': 'accessKey', '--secret-key': 'secretKey', '--session-token': 'sessionToken',
        '--log-dir': 'logDir', '--account-id': 'accountId', '--sandbox-secret-key': 'sandboxSecretKey' };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--quiet') { o.quiet = true; continue; }
        if ((num[a] || str[a]) && i + 1 < argv.length) {
            const v = argv[++i];
            if (num[a]) {
                const n = Number(v);
                if (!Number.isFinite(n) || n < 0 || v === '') die(`bad value for ${a}: ${v}`);
                o[num[a]] = n;
            } else {
                o[str[a]] = v;
            }
            continue;
        }
        die(`unknown argument ${a}\n(see the comment at the top of ${__filename})`);
    }
    if (!Number.isInteger(o.sandboxes) || o.sandboxes < 1) die('--sandboxes must be an integer >= 1');
    if (o.concurrency === null) o.concurrency = o.sandboxes;
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1) die('--concurrency must be an integer >= 1');
    if (!o.accessKey || !o.secretKey) die('--access-key and --secret-key must not be empty');
    return o;
}

const opts = parseArgs(process.argv.slice(2));
const functionArn = `arn:aws:lambda:${opts.region}:${opts.accountId}:function:${opts.functionName}`;
const bootstrapPath = path.resolve(opts.bootstrap);
try {
    fs.accessSync(bootstrapPath, fs.constants.X_OK);
} catch (e) {
    die(`bootstrap ${bootstrapPath} is not an executable file`);
}
if (opts.logDir)
    fs.mkdirSync(opts.logDir, { recursive: true });

function log(msg) {
    if (!opts.quiet)
        process.stderr.write(`[lambda_pool ${new Date().toISOString()}] ${msg}\n`);
}

// --- CPU accounting ---------------------------------------------------------------
let clkTck = 100;
try {
    clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch (e) { /* 100 */ }
// setpriv --pdeathsig KILL: the kernel kills a sandbox when this process dies, even by SIGKILL.
let useSetpriv = false;
try {
    execFileSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' });
    useSetpriv = true;
} catch (e) { /* plain spawn */ }

// statTicks(pid): [utime + stime, cutime + cstime] in clock ticks, or null.
function statTicks(pid) {
    let s;
    try { s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch (e) { return null; }
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return [Number(f[11]) + Number(f[12]), Number(f[13]) + Number(f[14])];
}
// What this process's waited-for children used before any sandbox started.
const childBaseline = (statTicks(process.pid) || [0, 0])[1];

// --- state --------------------------------------------------------------------------
const st = {
    started: Date.now(),
    queue: [],          // invocations waiting for a free sandbox
    inFlight: 0,        // queued + running (the reserved-concurrency count)
    faults: [],         // {id, kind, match, remaining}
    faultSeq: 0,
    records: [],        // the last KEEP_RECORDS invocations
    protocolErrors: [], // non-2xx answers to a runtime, and abandoned invocations
    initErrors: [],
    counts: {
        invokes: 0,          // signed Invoke calls that passed authentication
        refused: {},         // x-amzn-ErrorType -> n (4xx/5xx answered by the Invoke API)
        throttled: 0,        // 429 (the limit or a throttle fault)
        dispatched: 0,       // invocations handed to a sandbox (both kinds)
        responses: 0, functionErrors: 0, crashed: 0, timedOut: 0, responseTooLarge: 0,
        initErrors: 0, faultErrors: 0, queued: 0, restarts: 0,
        testInvokes: 0, testThrottled: 0,
    },
};
let sandboxes = [];
let server = null;
let poolPort = 0;
let shuttingDown = false;
const mainSockets = new Set();

function pushCapped(arr, x, cap) {
    arr.push(x);
    if (arr.length > cap)
        arr.splice(0, arr.length - cap);
}

// --- bounded life ---------------------------------------------------------------------
let idleTimer = null;
function touch() {
    if (idleTimer)
        clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
        if (st.inFlight > 0) // an invocation longer than --idle-s is not idleness
            return touch();
        log(`idle for ${opts.idleS} s, exiting`);
        shutdown(0);
    }, opts.idleS * 1000);
    idleTimer.unref();
}
setTimeout(() => {
    log(`running for ${opts.maxLifetimeS} s, exiting`);
    shutdown(0);
}, opts.maxLifetimeS * 1000).unref();

// --- helpers ---------------------------------------------------------------------------
function sendJSON(res, status, obj, extraHeaders) {
    if (res.headersSent || res.destroyed)
        return;
    const body = Buffer.from(JSON.stringify(obj));
    res.writeHead(status, Object.assign({ 'Content-Type': 'application/json',
        'Content-Length': body.length }, extraHeaders || {}));
    res.end(body);
}

// An Invoke API error: {"Type":"User","message":...} and x-amzn-ErrorType.
function awsError(res, status, name, message, bodyOverride) {
    st.counts.refused[name] = (st.counts.refused[name] || 0) + 1;
    log(`Invoke -> ${status} ${name}: ${message}`);
    sendJSON(res, status, bodyOverride || { Type: 'User', message },
        { 'x-amzn-ErrorType': name, 'x-amzn-RequestId': uuid() });
}






// Go's os/exec wording, which Lambda's "Runtime exited with error: ..." uses.
const SIGNAL_TEXT = { SIGKILL: 'killed', SIGTERM: 'terminated', SIGSEGV: 'segmentation fault',
    SIGABRT: 'aborted', SIGBUS: 'bus error', SIGFPE: 'floating point exception',
    SIGILL: 'illegal instruction', SIGPIPE: 'broken pipe', SIGINT: 'interrupt', SIGHUP: 'hangup',
    SIGQUIT: 'quit', SIGTRAP: 'trace/breakpoint trap', SIGSYS: 'bad system call',
    SIGXCPU: 'CPU time limit exceeded', SIGXFSZ: 'file size limit exceeded' };

// --- invocations -----------------------------------------------------------------------
// inv: {id, via, body, bytes, qualifier, arn, timeoutMs, fault, trace, state:
//   'queued'|'running'|'done', enqueuedAt, servedAt, sandbox, pid, onDone(result), timers}
// result: {status, functionError, errorType, payload (Buffer), outcome}
function newInvocation(via, body, extra) {
    return Object.assign({ id: uuid(), via, body, bytes: body.length, qualifier: null, arn: functionArn,
        timeoutMs: opts.timeoutMs, fault: null, trace: traceId(), state: 'queued',
        enqueuedAt: Date.now(), servedAt: null, sandbox: null, pid: null, timers: [],
        onDone: () => {} }, extra || {});
}

function atLimit() {
    return st.inFlight >= opts.concurrency;
}

function enqueue(inv) {
    st.inFlight++;
    st.queue.push(inv);
    if (!sandboxes.some((s) => s.isFree()))
        st.counts.queued++;
    dispatch();
}

function dispatch() {
    while (st.queue.length) {
        const s = sandboxes.find((x) => x.isFree());
        if (!s)
            return;
        s.deliver(st.queue.shift());
    }
}

function fnError(inv, errorType, errorMessage) {
    return Buffer.from(JSON.stringify({ errorType, errorMessage }));
}

function complete(inv, result) {
    if (inv.state === 'done')
        return;
    const wasQueued = inv.state === 'queued';
    inv.state = 'done';
    for (const t of inv.timers)
        clearTimeout(t);
    inv.timers = [];
    st.inFlight--;
    if (wasQueued) {
        const i = st.queue.indexOf(inv);
        if (i >= 0)
            st.queue.splice(i, 1);
    }
    const s = inv.sandbox !== null ? sandboxes[inv.sandbox] : null;
    if (s && s.current === inv) {
        s.current = null;
        s.last = inv;
    }
    inv.completedAt = Date.now();
    inv.result = result;
    const c = st.counts;
    if (result.outcome === 'response') c.responses++;
    else if (result.outcome === 'error') c.functionErrors++;
    else if (result.outcome === 'timeout') c.timedOut++;
    else if (result.outcome === 'crash') c.crashed++;
    else if (result.outcome === 'response_too_large') c.responseTooLarge++;
    pushCapped(st.records, {
        id: inv.id, via: inv.via, bytes: inv.bytes, sandbox: inv.sandbox, pid: inv.pid,
        outcome: result.outcome, status: result.status, functionError: result.functionError || null,
        errorType: result.errorType || null,
        durationMs: inv.servedAt ? inv.completedAt - inv.servedAt : null,
        waitMs: (inv.servedAt || inv.completedAt) - inv.enqueuedAt,
        qualifier: inv.qualifier, fault: inv.fault, t: inv.enqueuedAt,
    }, KEEP_RECORDS);
    log(`invocation ${inv.id} (${inv.via}) on sandbox ${inv.sandbox} -> ${result.outcome}` +
        `${result.errorType ? ` ${result.errorType}` : ''}`);
    try {
        inv.onDone(result);
    } finally {
        dispatch();
    }
}

// --- sandboxes ---------------------------------------------------------------------------
class Sandbox {
    constructor(index) {
        this.index = index;
        this.sockets = new Set();
        this.proc = null;
        this.pid = null;
        this.pids = [];
        this.phase = 'init';       // 'init' | 'running' | 'init_error' for the current process
        this.waiting = null;       // {req, res} of a blocked GET /next
        this.current = null;       // the invocation handed out and not yet answered
        this.last = null;          // the invocation answered last
        this.dying = false;        // killed by us, exit not seen yet
        this.invocations = 0;
        this.restarts = 0;
        this.quickDeaths = 0;
        this.startedAt = 0;
        this.restartTimer = null;
        this.lastTicks = 0;        // the live process's last /proc reading (ticks)
        this.deadTicks = 0;        // sum of the exited processes' last readings
        this.exitWaiters = [];
        this.logFd = null;
        this.port = 0;
        this.server = http.createServer((req, res) => {
            touch();
            this.route(req, res).catch((e) => {
                log(`sandbox ${this.index} internal error: ${e && e.stack}`);
                if (!res.headersSent)
                    sendJSON(res, 500, { errorMessage: 'Internal Server Error', errorType: 'InternalServerError' });
                else
                    res.destroy();
            });
        });
        this.server.requestTimeout = 0;
        this.server.headersTimeout = 60000;
        this.server.keepAliveTimeout = 60000;
        this.server.on('connection', (sock) => {
            this.sockets.add(sock);
            sock.on('close', () => this.sockets.delete(sock));
        });
    }

    listen() {
        return new Promise((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(0, '127.0.0.1', () => {
                this.port = this.server.address().port;
                resolve();
            });
        });
    }

    alive() {
        return this.proc !== null && !this.dying;
    }

    isFree() {
        return this.alive() && this.waiting !== null && this.current === null &&
            !this.waiting.res.destroyed && this.phase === 'running';
    }

    stateName() {
        if (this.proc === null) return 'down';
        if (this.dying) return 'dying';
        if (this.current) return 'busy';
        if (this.phase === 'init_error') return 'init_error';
        if (this.waiting) return 'idle';
        return this.phase === 'init' ? 'starting' : 'between';
    }

    start() {
        this.restartTimer = null;
        if (shuttingDown)
            return;
        const env = Object.assign({}, process.env, {
            AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${this.port}`,
            AWS_LAMBDA_FUNCTION_NAME: opts.functionName,
            AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(opts.memoryMb),
            AWS_REGION: opts.region,
            AWS_DEFAULT_REGION: opts.region,
            AWS_ACCESS_KEY_ID: opts.accessKey,
            AWS_SECRET_ACCESS_KEY: opts.sandboxSecretKey || opts.secretKey,
            AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${poolPort}`,
        });
        if (opts.sessionToken)
            env.AWS_SESSION_TOKEN = opts.sessionToken;
        else
            delete env.AWS_SESSION_TOKEN;
        let out = 'inherit';
        if (opts.logDir) {
            if (this.logFd === null)
                this.logFd = fs.openSync(path.join(opts.logDir, `sandbox-${this.index}.log`), 'a');
            out = this.logFd;
        }
        const cmd = useSetpriv ? 'setpriv' : bootstrapPath;
        const args = useSetpriv ? ['--pdeathsig', 'KILL', '--', bootstrapPath] : [];
        this.phase = 'init';
        this.dying = false;
        this.waiting = null;
        this.current = null;
        this.last = null;
        this.lastTicks = 0;
        this.startedAt = Date.now();
        let proc;
        try {
            // Its own process group, so that a kill reaches whatever it started too.
            proc = spawn(cmd, args, { env, stdio: ['ignore', out === 'inherit' ? 2 : out, out === 'inherit' ? 2 : out],
                detached: true });
        } catch (e) {
            log(`sandbox ${this.index}: spawn failed: ${e.message}`);
            this.scheduleRestart(true);
            return;
        }
        this.proc = proc;
        this.pid = proc.pid || null;
        if (this.pid)
            this.pids.push(this.pid);
        if (this.logFd !== null)
            fs.writeSync(this.logFd, `=== sandbox ${this.index} pid ${this.pid} started ${new Date().toISOString()}\n`);
        log(`sandbox ${this.index}: started pid ${this.pid} (Runtime API 127.0.0.1:${this.port})`);
        let ended = false;
        const onEnd = (code, signal) => {
            if (ended)
                return;
            ended = true;
            this.onExit(proc, code, signal);
        };
        proc.on('exit', onEnd);
        proc.on('error', (e) => {
            log(`sandbox ${this.index}: ${e.message}`);
            if (!proc.pid || proc.exitCode !== null || proc.signalCode !== null)
                onEnd(127, null);
        });
    }

    sample() {
        if (!this.pid || this.proc === null)
            return;
        const t = statTicks(this.pid);
        if (t)
            this.lastTicks = t[0] + t[1];
    }

    signal(sig) {
        if (!this.pid || this.proc === null)
            return;
        try {
            process.kill(-this.pid, sig);
        } catch (e) {
            try { process.kill(this.pid, sig); } catch (e2) { /* gone */ }
        }
    }

    kill(why) {
        if (this.proc === null)
            return;
        this.sample();
        this.dying = true;
        this.killReason = why;
        this.signal('SIGKILL');
    }

    onExit(proc, code, signal) {
        if (this.proc !== proc)
            return;
        const lived = Date.now() - this.startedAt;
        this.deadTicks += this.lastTicks;
        this.lastTicks = 0;
        this.proc = null;
        const why = this.killReason;
        this.killReason = null;
        this.dying = false;
        log(`sandbox ${this.index}: pid ${this.pid} exited (${signal ? `signal ${signal}` : `status ${code}`})` +
            `${why ? `, killed for ${why}` : ''} after ${lived} ms`);
        // Whatever the dead process had open on its Runtime API goes with it.
        this.waiting = null;
        for (const sock of this.sockets)
            sock.destroy();
        let msg;
        if (signal)
            msg = `Runtime exited with error: signal: ${SIGNAL_TEXT[signal] || signal}`;
        else if (code)
            msg = `Runtime exited with error: exit status ${code}`;
        else
            msg = 'Runtime exited without providing a reason';
        // The invocation it had, or, for a process that died during its init, the
        // oldest one waiting (Lambda answers the invoke that started the environment).
        let inv = this.current;
        if (!(inv && inv.state === 'running'))
            inv = !why && this.phase === 'init' ? st.queue[0] : null;
        if (inv)
            complete(inv, { status: 200, functionError: 'Unhandled', errorType: 'Runtime.ExitError',
                outcome: 'crash', payload: fnError(inv, 'Runtime.ExitError', `RequestId: ${inv.id} Error: ${msg}`) });
        this.current = null;
        for (const f of this.exitWaiters.splice(0))
            f();
        if (shuttingDown)
            return;
        // A process that died on its own right after starting, again and again, backs off.
        const quick = (!why || why === 'init error') && lived < 1000;
        this.quickDeaths = quick ? this.quickDeaths + 1 : 0;
        this.scheduleRestart(quick);
    }

    scheduleRestart(quick) {
        if (shuttingDown || this.restartTimer)
            return;
        const delay = quick ? Math.min(5000, 100 * 2 ** Math.max(0, this.quickDeaths - 1)) : 0;
        this.restarts++;
        st.counts.restarts++;
        this.restartTimer = setTimeout(() => this.start(), delay);
    }

    // Hands inv to the process blocked on GET /next.
    deliver(inv) {
        const w = this.waiting;
        this.waiting = null;
        const now = Date.now();
        inv.state = 'running';
        inv.sandbox = this.index;
        inv.pid = this.pid;
        inv.servedAt = now;
        inv.deadline = now + inv.timeoutMs;
        this.current = inv;
        this.invocations++;
        st.counts.dispatched++;
        if (inv.fault === 'hang') // stopped before it can read the event: it can never answer
            this.signal('SIGSTOP');
        const h = {
            'Content-Type': 'application/json',
            'Content-Length': inv.body.length,
            'Lambda-Runtime-Aws-Request-Id': inv.id,
            'Lambda-Runtime-Deadline-Ms': String(inv.deadline),
            'Lambda-Runtime-Invoked-Function-Arn': inv.arn,
            'Lambda-Runtime-Trace-Id': inv.trace,
        };
        w.res.writeHead(200, h);
        w.res.end(inv.body);
        inv.timers.push(setTimeout(() => this.timeout(inv), inv.timeoutMs));
        if (inv.fault === 'crash')
            inv.timers.push(setTimeout(() => {
                if (this.current === inv && inv.state === 'running')
                    this.kill('crash fault');
            }, 50));
        log(`sandbox ${this.index}: GET /next -> ${inv.id} (${inv.body.length} bytes, ${inv.via}` +
            `${inv.fault ? `, fault ${inv.fault}` : ''}, deadline in ${inv.timeoutMs} ms)`);
    }

    timeout(inv) {
        if (inv.state !== 'running' || this.current !== inv)
            return;
        const secs = (inv.timeoutMs / 1000).toFixed(2);
        complete(inv, { status: 200, functionError: 'Unhandled', errorType: 'Sandbox.Timedout', outcome: 'timeout',
            payload: fnError(inv, 'Sandbox.Timedout', `RequestId: ${inv.id} Error: Task timed out after ${secs} seconds`) });
        this.kill('timeout');
    }

    // --- the Runtime API of this sandbox ---
    apiError(req, res, status, errorType, errorMessage) {
        pushCapped(st.protocolErrors, { t: Date.now(), sandbox: this.index, method: req.method, path: req.url,
            status, errorType, errorMessage }, 100);
        log(`sandbox ${this.index}: ${req.method} ${req.url} -> ${status} ${errorType}: ${errorMessage}`);
        sendJSON(res, status, { errorMessage, errorType });
    }

    async route(req, res) {
        let u;
        try {
            u = new URL(req.url, 'http://127.0.0.1');
        } catch (e) {
            return sendJSON(res, 400, { errorMessage: 'bad URL', errorType: 'InvalidRequest' });
        }
        const p = u.pathname;
        let m;
        if (p === `${API}/runtime/invocation/next`) {
            if (req.method !== 'GET')
                return this.apiError(req, res, 405, 'MethodNotAllowed', `${req.method} not allowed on ${p}`);
            return this.handleNext(req, res);
        }
        if ((m = new RegExp(`^${API}/runtime/invocation/([^/]*)/(response|error)$`).exec(p))) {
            if (req.method !== 'POST')
                return this.apiError(req, res, 405, 'MethodNotAllowed', `${req.method} not allowed on ${p}`);
            let id;
            try { id = decodeURIComponent(m[1]); } catch (e) { id = m[1]; }
            return m[2] === 'response' ? this.handleResponse(req, res, id) : this.handleError(req, res, id);
        }
        if (p === `${API}/runtime/init/error`) {
            if (req.method !== 'POST')
                return this.apiError(req, res, 405, 'MethodNotAllowed', `${req.method} not allowed on ${p}`);
            return this.handleInitError(req, res);
        }
        await readBody(req, 0);
        this.apiError(req, res, 404, 'NotFound', `no such Runtime API path: ${req.method} ${p}`);
    }

    handleNext(req, res) {
        if (this.phase === 'init_error')
            return this.apiError(req, res, 403, 'InvalidStateTransition',
                'State transition from InitError to Ready failed for runtime. Error: State transition is not allowed');
        this.phase = 'running';
        this.quickDeaths = 0;
        const prev = this.current;
        if (prev && prev.state === 'running') {
            // The runtime asked for more work without answering: recorded, and the
            // invocation ends as an error rather than waiting for its deadline.
            pushCapped(st.protocolErrors, { t: Date.now(), sandbox: this.index, method: req.method, path: req.url,
                status: 200, errorType: 'AbandonedInvocation', errorMessage: `GET /next before answering ${prev.id}` }, 100);
            complete(prev, { status: 200, functionError: 'Unhandled', errorType: 'Runtime.AbandonedInvocation',
                outcome: 'error', payload: fnError(prev, 'Runtime.AbandonedInvocation',
                    `RequestId: ${prev.id} Error: the runtime asked for the next event without answering this one`) });
        }
        if (this.waiting && this.waiting.res !== res)
            this.waiting.res.destroy();
        this.waiting = { req, res };
        res.on('close', () => {
            if (this.waiting && this.waiting.res === res)
                this.waiting = null;
        });
        dispatch();
    }

    // The invocation {id} may be answered; otherwise answers the runtime and returns null.
    checkInvocation(req, res, id, to) {
        const inv = this.current && this.current.id === id ? this.current
            : this.last && this.last.id === id ? this.last : null;
        if (!id || !inv) {
            this.apiError(req, res, 400, 'InvalidRequestID', 'Invalid request ID');
            return null;
        }
        if (inv.state !== 'running') {
            const from = inv.result && inv.result.outcome === 'response' ? 'InvocationResponse' : 'InvocationErrorResponse';
            this.apiError(req, res, 403, 'InvalidStateTransition',
                `State transition from ${from} to ${to} failed for runtime. Error: State transition is not allowed`);
            return null;
        }
        return inv;
    }

    async handleResponse(req, res, id) {
        const { buf, size } = await readBody(req, opts.maxResponse);
        const inv = this.checkInvocation(req, res, id, 'InvocationResponse');
        if (!inv)
            return;
        if (inv.fault === 'crash' || inv.fault === 'hang')
            return; // held: the process is about to be killed
        if (buf === null) {
            const msg = `Response payload size (${size} bytes) exceeded maximum allowed payload size (${opts.maxResponse} bytes).`;
            complete(inv, { status: 200, functionError: 'Unhandled', errorType: 'Function.ResponseSizeTooLarge',
                outcome: 'response_too_large', payload: Buffer.from(JSON.stringify({ errorMessage: msg,
                    errorType: 'Function.ResponseSizeTooLarge' })) });
            return this.apiError(req, res, 413, 'RequestEntityTooLarge',
                `Exceeded maximum allowed payload size (${opts.maxResponse} bytes).`);
        }
        sendJSON(res, 202, { status: 'OK' });
        complete(inv, { status: 200, functionError: null, errorType: null, outcome: 'response', payload: buf });
    }

    async handleError(req, res, id) {
        const { buf } = await readBody(req, opts.maxResponse);
        const inv = this.checkInvocation(req, res, id, 'InvocationErrorResponse');
        if (!inv)
            return;
        if (inv.fault === 'crash' || inv.fault === 'hang')
            return;
        const errorType = req.headers['lambda-runtime-function-error-type'] || null;
        const body = buf || Buffer.alloc(0);
        sendJSON(res, 202, { status: 'OK' });
        complete(inv, { status: 200, functionError: 'Unhandled', errorType: errorType ||
            (parseJSON(body.toString('utf8')) || {}).errorType || null, outcome: 'error', payload: body });
    }

    async handleInitError(req, res) {
        const { buf } = await readBody(req, opts.maxResponse);
        if (this.phase !== 'init')
            return this.apiError(req, res, 403, 'InvalidStateTransition',
                `State transition from ${this.phase === 'init_error' ? 'InitError' : 'Ready'} to InitError failed for runtime. Error: State transition is not allowed`);
        const body = buf || Buffer.alloc(0);
        const errorType = req.headers['lambda-runtime-function-error-type'] || null;
        this.phase = 'init_error';
        st.counts.initErrors++;
        pushCapped(st.initErrors, { t: Date.now(), sandbox: this.index, pid: this.pid, errorType,
            body: body.toString('utf8').slice(0, 4096) }, 20);
        log(`sandbox ${this.index}: init error ${errorType || '-'} ${body.toString('utf8').slice(0, 200)}`);
        sendJSON(res, 202, { status: 'OK' });
        // Lambda answers the invoke that started this environment with the init error;
        // here that is the oldest one still waiting for a sandbox.
        const inv = st.queue[0];
        if (inv)
            complete(inv, { status: 200, functionError: 'Unhandled', errorType, outcome: 'init_error', payload: body });
        // And the environment is thrown away.
        res.on('finish', () => setTimeout(() => { if (this.phase === 'init_error') this.kill('init error'); }, 50));
    }
}

// --- SigV4 ------------------------------------------------------------------------------
function amzDateToMs(d) {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(d);
    if (!m)
        return NaN;
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function msToAmzDate(ms) {
    return new Date(ms).toISOString().replace(/[:-]|\.\d{3}/g, '');
}

// Before the body: the Authorization header, the scope, the date, the key and the
// token. -> {err: [status, name, message]} or {ctx}.
function checkAuthHeader(req) {
    const auth = req.headers.authorization;
    if (!auth)
        return { err: [403, 'MissingAuthenticationTokenException', 'Missing Authentication Token'] };
    const incomplete = (msg) => ({ err: [403, 'IncompleteSignatureException', msg] });
    const sp = auth.indexOf(' ');
    const alg = sp < 0 ? auth : auth.slice(0, sp);
    if (alg !== 'AWS4-HMAC-SHA256')
        return incomplete(`Unsupported AWS 'algorithm': '${alg}'.`);
    const params = {};
    for (const part of auth.slice(sp + 1).split(',')) {
        const eq = part.indexOf('=');
        if (eq > 0)
            params[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
    const amzDate = req.headers['x-amz-date'] ||
        (req.headers.date && !Number.isNaN(Date.parse(req.headers.date)) ? msToAmzDate(Date.parse(req.headers.date)) : null);
    const missing = [];
    for (const k of ['Credential', 'Signature', 'SignedHeaders'])
        if (!params[k])
            missing.push(`Authorization header requires '${k}' parameter.`);
    if (!amzDate)
        missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
    if (missing.length)
        return incomplete(`${missing.join(' ')} Authorization=${auth}`);
    const dateMs = amzDateToMs(amzDate);
    if (Number.isNaN(dateMs))
        return incomplete(`Date must be in ISO-8601 'basic format'. Got '${amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`);
    const cred = params.Credential.split('/');
    if (cred.length !== 5)
        return incomplete(`Credential should have 5 parts separated by '/', not ${cred.length}: '${params.Credential}'`);
    const [akid, day, region, service, term] = cred;
    const bad = (msg) => ({ err: [403, 'InvalidSignatureException', msg] });
    if (term !== 'aws4_request')
        return bad(`Credential should be scoped with a valid terminator: 'aws4_request', not '${term}'.`);
    if (region !== opts.region)
        return bad(`Credential should be scoped to a valid region. `);
    if (service !== 'lambda')
        return bad(`Credential should be scoped to correct service: 'lambda'. `);
    if (day !== amzDate.slice(0, 8))
        return bad(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${day}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`);
    const now = Date.now();
    if (dateMs < now - CLOCK_SKEW_MS)
        return bad(`Signature expired: ${amzDate} is now earlier than ${msToAmzDate(now - CLOCK_SKEW_MS)} (${msToAmzDate(now)} - 15 min.)`);
    if (dateMs > now + CLOCK_SKEW_MS)
        return bad(`Signature not yet current: ${amzDate} is still later than ${msToAmzDate(now + CLOCK_SKEW_MS)} (${msToAmzDate(now)} + 15 min.)`);
    const invalidToken = { err: [403, 'UnrecognizedClientException', 'The security token included in the request is invalid.'] };
    if (akid !== opts.accessKey)
        return invalidToken;
    const token = req.headers['x-amz-security-token'];
    if ((opts.sessionToken || token !== undefined) && token !== opts.sessionToken)
        return invalidToken;
    const signed = params.SignedHeaders.split(';').map((h) => h.trim().toLowerCase()).filter((h) => h);
    if (!signed.includes('host'))
        return bad("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    return { ctx: { amzDate, region, signed, signature: params.Signature.toLowerCase() } };
}

// The signature, recomputed with aws4 over exactly the signed headers. -> null or err.
function checkSignature(req, ctx, body) {
    const bodyHash = crypto.createHash('sha256').update(body).digest('hex');
    const given = req.headers['x-amz-content-sha256'];
    if (given !== undefined && given !== bodyHash)
        return [403, 'InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed."];
    const distinct = req.headersDistinct || {};
    const headers = {};
    const include = Object.create(null);
    for (const name of ctx.signed) {
        headers[name] = distinct[name] ? distinct[name].join(',') : (req.headers[name] || '');
        include[name] = true;
    }
    const signer = new aws4.RequestSigner({
        method: req.method, path: req.url, host: req.headers.host || '', service: 'lambda', region: ctx.region,
        headers, body, doNotModifyHeaders: true, extraHeadersToInclude: include,
    }, { accessKeyId: opts.accessKey, secretAccessKey: opts.secretKey });
    signer.datetime = ctx.amzDate;
    const want = signer.signature();
    const a = Buffer.from(want), b = Buffer.from(ctx.signature);
    if (a.length === b.length && crypto.timingSafeEqual(a, b))
        return null;
    log(`signature mismatch for ${req.method} ${req.url}: got ${ctx.signature}, expected ${want}\n` +
        `--- expected canonical request ---\n${signer.canonicalString()}\n` +
        `--- expected string to sign ---\n${signer.stringToSign()}\n---`);
    return [403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. ' +
        'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'];
}

// FunctionName (decoded) -> {name, qualifier, accountId, region} or null.
function parseFunctionName(fn) {
    let m = /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?$/.exec(fn);
    if (m)
        return { region: m[1], accountId: m[2], name: m[3], qualifier: m[4] || null };
    m = /^(?:(\d{12}):function:)?([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?$/.exec(fn);
    if (m)
        return { region: opts.region, accountId: m[1] || opts.accountId, name: m[2], qualifier: m[3] || null };
    return null;
}

const THROTTLE_BODY = { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded', Type: 'User', message: 'Rate Exceeded.' };

function takeFault(body) {
    for (const f of st.faults) {
        if (f.remaining > 0 && (f.match === '' || body.includes(f.match))) {
            f.remaining--;
            f.applied++;
            if (f.remaining === 0)
                st.faults.splice(st.faults.indexOf(f), 1);
            return f.kind;
        }
    }
    return null;
}

function sendInvokeResult(res, inv, r) {
    if (res.destroyed || res.headersSent)
        return;
    const h = { 'Content-Type': 'application/json', 'Content-Length': r.payload.length,
        'X-Amz-Executed-Version': '$LATEST', 'x-amzn-RequestId': inv.id,
        'X-Amzn-Trace-Id': inv.trace.split(';')[0] };
    if (r.functionError)
        h['X-Amz-Function-Error'] = r.functionError;
    res.writeHead(r.status, h);
    res.end(r.payload);
}

async function handleInvoke(req, res, u, rawName) {
    const a = checkAuthHeader(req);
    if (a.err) {
        await readBody(req, 0);
        return awsError(res, ...a.err);
    }
    const { buf, size } = await readBody(req, opts.maxPayload);
    if (buf === null)
        return awsError(res, 413, 'RequestTooLargeException',
            `Request must be smaller than ${opts.maxPayload} bytes for the InvokeFunction operation`);
    const sigErr = checkSignature(req, a.ctx, buf);
    if (sigErr)
        return awsError(res, ...sigErr);
    st.counts.invokes++;
    let fnName;
    try { fnName = decodeURIComponent(rawName); } catch (e) { fnName = rawName; }
    const fn = parseFunctionName(fnName);
    const q = u.searchParams.has('Qualifier') ? u.searchParams.get('Qualifier') : null;
    if (fn && fn.qualifier && q !== null && q !== fn.qualifier)
        return awsError(res, 400, 'InvalidParameterValueException',
            'The derived qualifier from the function name does not match the specified qualifier.');
    const qualifier = fn && fn.qualifier ? fn.qualifier : q;
    if (!fn || fn.name !== opts.functionName || fn.accountId !== opts.accountId || fn.region !== opts.region ||
        (qualifier !== null && qualifier !== '$LATEST')) {
        const arn = fn ? `arn:aws:lambda:${fn.region}:${fn.accountId}:function:${fn.name}${qualifier ? `:${qualifier}` : ''}` : fnName;
        return awsError(res, 404, 'ResourceNotFoundException', `Function not found: ${arn}`);
    }
    const type = req.headers['x-amz-invocation-type'];
    if (type === 'DryRun') {
        res.writeHead(204, { 'x-amzn-RequestId': uuid() });
        return res.end();
    }
    if (type !== undefined && type !== 'RequestResponse')
        return awsError(res, 400, 'InvalidParameterValueException',
            `Unsupported invocation type ${type} (this test double serves RequestResponse and DryRun only)`);
    const body = buf.length ? buf : Buffer.from('{}');
    if (parseJSON(body.toString('utf8')) === null && body.toString('utf8').trim() !== 'null')
        return awsError(res, 400, 'InvalidRequestContentException',
            'Could not parse request body into json: Could not parse payload into json: Unexpected character');
    if (atLimit()) {
        st.counts.throttled++;
        return awsError(res, 429, 'TooManyRequestsException', THROTTLE_BODY.message, THROTTLE_BODY);
    }
    const fault = takeFault(body);
    if (fault === 'throttle') {
        st.counts.throttled++;
        return awsError(res, 429, 'TooManyRequestsException', THROTTLE_BODY.message, THROTTLE_BODY);
    }
    if (fault === 'error') {
        st.counts.faultErrors++;
        return awsError(res, 500, 'ServiceException', 'An error occurred (fault injected by lambda_pool)',
            { Type: 'Service', message: 'An error occurred (fault injected by lambda_pool)' });
    }
    const inv = newInvocation('invoke', body, {
        qualifier, fault, arn: functionArn + (qualifier ? `:${qualifier}` : ''),
        onDone: (r) => sendInvokeResult(res, inv, r),
    });
    log(`Invoke ${inv.id}: ${body.length} bytes${fault ? `, fault ${fault}` : ''}`);
    enqueue(inv);
}

// --- control interface --------------------------------------------------------------------
function cpuReport() {
    let live = 0;
    for (const s of sandboxes) {
        s.sample();
        if (s.proc !== null)
            live += s.lastTicks;
    }
    const own = statTicks(process.pid);
    const exited = own ? own[1] - childBaseline : sandboxes.reduce((n, s) => n + s.deadTicks, 0);
    const ms = (t) => Math.round(t * 1000 / clkTck);
    return { cpu_ms: ms(live + exited), live_ms: ms(live), exited_ms: ms(exited), clk_tck: clkTck };
}

function readyCount() {
    return sandboxes.filter((s) => s.isFree()).length;
}

function publicFault(f) {
    return { id: f.id, kind: f.kind, match: f.match, remaining: f.remaining, applied: f.applied };
}

async function handleTest(req, res, u) {
    const p = u.pathname;
    const q = u.searchParams;
    if (req.method === 'POST' && p === '/test/invoke') {
        const { buf, size } = await readBody(req, opts.maxPayload);
        if (buf === null)
            return sendJSON(res, 413, { error: `event of ${size} bytes exceeds ${opts.maxPayload} bytes` });
        st.counts.testInvokes++;
        const body = buf.length ? buf : Buffer.from('{}');
        let timeoutMs = opts.timeoutMs;
        if (q.has('timeout_ms')) {
            timeoutMs = Number(q.get('timeout_ms'));
            if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
                return sendJSON(res, 400, { error: 'bad timeout_ms' });
        }
        if (atLimit()) {
            st.counts.testThrottled++;
            return sendJSON(res, 200, { id: null, status: 429, functionError: null, errorType: 'TooManyRequestsException',
                payload: JSON.stringify(THROTTLE_BODY), durationMs: 0, sandbox: null, pid: null, outcome: 'throttled' });
        }
        const inv = newInvocation('test', body, { timeoutMs });
        inv.onDone = (r) => sendJSON(res, 200, { id: inv.id, status: r.status, functionError: r.functionError || null,
            errorType: r.errorType || null, payload: r.payload.toString('utf8'),
            durationMs: inv.servedAt ? inv.completedAt - inv.servedAt : null, sandbox: inv.sandbox, pid: inv.pid,
            outcome: r.outcome });
        return enqueue(inv);
    }
    if (req.method === 'POST' && p === '/test/fault') {
        await readBody(req, 0);
        const kind = q.get('kind');
        if (!['crash', 'hang', 'throttle', 'error'].includes(kind))
            return sendJSON(res, 400, { error: 'kind must be crash, hang, throttle or error' });
        const count = q.has('count') ? Number(q.get('count')) : 1;
        if (!Number.isInteger(count) || count < 1)
            return sendJSON(res, 400, { error: 'count must be an integer >= 1' });
        const f = { id: ++st.faultSeq, kind, match: q.get('match') || '', remaining: count, applied: 0 };
        st.faults.push(f);
        log(`fault ${f.id}: ${kind} x${count} on payloads containing ${JSON.stringify(f.match)}`);
        return sendJSON(res, 201, publicFault(f));
    }
    if (p === '/test/faults' && req.method === 'GET')
        return sendJSON(res, 200, st.faults.map(publicFault));
    if (p === '/test/faults' && req.method === 'DELETE') {
        const n = st.faults.length;
        st.faults = [];
        return sendJSON(res, 200, { cleared: n });
    }
    if (req.method === 'GET' && p === '/test/ready') {
        const want = q.has('count') ? Number(q.get('count')) : sandboxes.length;
        const waitS = q.has('wait_s') ? Number(q.get('wait_s')) : 0;
        const until = Date.now() + waitS * 1000;
        const poll = () => {
            if (res.destroyed)
                return;
            const n = readyCount();
            if (n >= want)
                return sendJSON(res, 200, { ready: n });
            if (Date.now() >= until)
                return sendJSON(res, 504, { ready: n });
            setTimeout(poll, 20);
        };
        return poll();
    }
    if (req.method === 'GET' && p === '/test/state') {
        const cpu = cpuReport();
        return sendJSON(res, 200, {
            uptimeMs: Date.now() - st.started, port: poolPort, functionArn,
            config: { sandboxes: opts.sandboxes, concurrency: opts.concurrency, timeoutMs: opts.timeoutMs,
                memoryMb: opts.memoryMb, region: opts.region, bootstrap: bootstrapPath, pdeathsig: useSetpriv },
            inFlight: st.inFlight, queued: st.queue.length, counts: st.counts,
            sandboxes: sandboxes.map((s) => ({ index: s.index, pid: s.proc ? s.pid : null, pids: s.pids,
                apiPort: s.port, state: s.stateName(), invocations: s.invocations, restarts: s.restarts,
                current: s.current ? s.current.id : null,
                cpuMs: Math.round((s.deadTicks + (s.proc ? s.lastTicks : 0)) * 1000 / clkTck) })),
            cpu, faults: st.faults.map(publicFault), records: st.records,
            protocolErrors: st.protocolErrors, initErrors: st.initErrors,
        });
    }
    if (req.method === 'GET' && p === '/test/cpu')
        return sendJSON(res, 200, cpuReport());
    if (req.method === 'POST' && p === '/test/shutdown') {
        log('shutdown requested');
        await killAll(3000);
        const body = Buffer.from('{"status":"shutting down"}');
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length, Connection: 'close' });
        return res.end(body, () => shutdown(0));
    }
    sendJSON(res, 404, { error: `no such control endpoint: ${req.method} ${p}` });
}

// --- servers and life -------------------------------------------------------------------------
// Kills every sandbox and waits (at most waitMs) until each exit was seen.
function killAll(waitMs) {
    shuttingDown = true;
    const waits = [];
    for (const s of sandboxes) {
        if (s.restartTimer) {
            clearTimeout(s.restartTimer);
            s.restartTimer = null;
        }
        if (s.proc !== null) {
            waits.push(new Promise((resolve) => s.exitWaiters.push(resolve)));
            s.kill('shutdown');
        }
    }
    return Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, waitMs))]);
}

let exiting = false;
function shutdown(code) {
    if (exiting)
        return;
    exiting = true;
    killAll(2000).then(() => {
        for (const q of st.queue.splice(0))
            q.state = 'done';
        if (server)
            server.close();
        for (const s of mainSockets)
            s.destroy();
        for (const s of sandboxes) {
            s.server.close();
            for (const sock of s.sockets)
                sock.destroy();
        }
        setImmediate(() => process.exit(code));
    });
}
// Never leave a bootstrap behind, however this process ends.
process.on('exit', () => {
    for (const s of sandboxes)
        if (s.proc !== null)
            s.signal('SIGKILL');
});
process.on('SIGTERM', () => { log('SIGTERM'); shutdown(0); });
process.on('SIGINT', () => { log('SIGINT'); shutdown(0); });
process.on('SIGHUP', () => { log('SIGHUP'); shutdown(0); });
process.on('uncaughtException', (e) => {
    log(`uncaught exception: ${e && e.stack}`);
    for (const s of sandboxes)
        if (s.proc !== null)
            s.signal('SIGKILL');
    process.exit(1);
});

async function route(req, res) {
    let u;
    try {
        u = new URL(req.url, 'http://127.0.0.1');
    } catch (e) {
        return sendJSON(res, 400, { Type: 'User', message: 'bad URL' });
    }
    const p = u.pathname;
    if (p.startsWith('/test/'))
        return handleTest(req, res, u);
    const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/.exec(p);
    if (m && req.method === 'POST')
        return handleInvoke(req, res, u, m[1]);
    await readBody(req, 0);
    st.counts.refused.UnknownOperationException = (st.counts.refused.UnknownOperationException || 0) + 1;
    sendJSON(res, 404, { Type: 'User', message: `Unknown operation ${req.method} ${p}` },
        { 'x-amzn-ErrorType': 'UnknownOperationException' });
}

async function main() {
    server = http.createServer((req, res) => {
        touch();
        res.on('finish', touch);
        res.on('close', touch);
        route(req, res).catch((e) => {
            log(`internal error: ${e && e.stack}`);
            if (!res.headersSent)
                sendJSON(res, 500, { Type: 'Service', message: 'Internal Server Error' },
                    { 'x-amzn-ErrorType': 'ServiceException' });
            else
                res.destroy();
        });
    });
    server.requestTimeout = 0;
    server.headersTimeout = 60000;
    server.keepAliveTimeout = 60000;
    server.on('connection', (s) => {
        mainSockets.add(s);
        s.on('close', () => mainSockets.delete(s));
    });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
    });
    poolPort = server.address().port;
    sandboxes = Array.from({ length: opts.sandboxes }, (_, i) => new Sandbox(i));
    await Promise.all(sandboxes.map((s) => s.listen()));
    process.stdout.write(`PORT ${poolPort}\n`);
    log(`Invoke API on 127.0.0.1:${poolPort} for ${functionArn}; ${opts.sandboxes} sandboxes of ${bootstrapPath}, ` +
        `concurrency ${opts.concurrency}, timeout ${opts.timeoutMs} ms, idle exit after ${opts.idleS} s` +
        `${useSetpriv ? '' : ' (no setpriv: sandboxes outlive a SIGKILL of this process)'}`);
    setInterval(() => { for (const s of sandboxes) s.sample(); }, 200).unref();
    touch();
    for (const s of sandboxes)
        s.start();
}

main().catch((e) => die(`start: ${e && e.message}`));
