// soak_lambda.js PORT N LIST - drives N invocations through the Runtime API
// emulator (test/lambda_emulator.js) on 127.0.0.1:PORT, one at a time, cycling
// through LIST: one "STATUS FILE" per line, FILE an event and STATUS the
// statusCode its answer must carry ("error" for an event the runtime must
// report to /error). Prints one JSON line: invocations, wrong answers (with the
// first few), seconds, and the count of each status seen.
'use strict';
const http = require('http');
const fs = require('fs');
const [port, n, list] = process.argv.slice(2);
const cases = fs.readFileSync(list, 'utf8').split('\n').filter((l) => l.trim())
    .map((l) => { const [want, file] = l.trim().split(/\s+/); return { want, body: fs.readFileSync(file) }; });
// A connection per invocation: a kept-alive socket the emulator closed while idle
// (a stall of the machine longer than Node's 5 s keepAliveTimeout) would fail the
// next invocation with EPIPE, a fault of the harness, not of the runtime.
const agent = new http.Agent({ keepAlive: false, maxSockets: 1 });
function invoke(body) {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: Number(port), method: 'POST', agent,
            path: '/test/invoke?wait_s=60' }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (e) { reject(e); }
            });
        });
        req.on('error', reject);
        req.end(body);
    });
}
(async () => {
    const t0 = Date.now(), seen = {}, wrong = [];
    for (let i = 0; i < Number(n); i++) {
        const c = cases[i % cases.length];
        const o = await invoke(c.body);
        let got = o.kind;
        if (o.kind === 'response') {
            try { got = String(JSON.parse(o.payload).statusCode); } catch (e) { got = 'unparsable'; }
        }
        seen[got] = (seen[got] || 0) + 1;
        if (got !== c.want && wrong.length < 5)
            wrong.push({ i, want: c.want, got });
        else if (got !== c.want)
            wrong.push(null);
    }
    console.log(JSON.stringify({ invocations: Number(n), wrong: wrong.length,
        first_wrong: wrong.filter(Boolean), seconds: (Date.now() - t0) / 1000, seen }));
    agent.destroy();
})().catch((e) => { console.error(e); process.exit(1); });
