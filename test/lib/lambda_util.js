// lambda_util.js - what test/lambda_emulator.js and test/lambda_pool.js share:
// request bodies read with a limit, ids, trace ids, lenient JSON. Node's
// standard library only.
'use strict';

const crypto = require('crypto');

// Reads the whole body; resolves {buf (null when over limit), size}. Bytes past
// `limit` are counted and dropped; past drainCap the connection is cut.
function readBody(req, limit, drainCap) {
    return new Promise((resolve) => {
        const chunks = [];
        let size = 0, over = false, done = false;
        const finish = () => {
            if (done)
                return;
            done = true;
            resolve({ buf: over ? null : Buffer.concat(chunks), size });
        };
        req.on('data', (c) => {
            size += c.length;
            if (size > limit)
                over = true;
            if (!over)
                chunks.push(c);
            else
                chunks.length = 0;
            if (size > drainCap) {
                req.socket.destroy();
                finish();
            }
        });
        req.on('end', finish);
        req.on('error', finish);
        req.on('close', finish);
    });
}

function hex(n) {
    return crypto.randomBytes(n).toString('hex');
}

function uuid() { // crypto.randomUUID() appeared in Node 14.17
    if (crypto.randomUUID)
        return crypto.randomUUID();
    const h = hex(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

// An X-Ray trace header as Lambda hands one to the runtime.
function traceId() {
    const t = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
    return `Root=1-${t}-${hex(12)};Parent=${hex(8)};Sampled=0;Lineage=1:${hex(4)}:0`;
}

function parseJSON(s) {
    try { return JSON.parse(s); } catch (e) { return null; }
}

module.exports = { readBody, hex, uuid, traceId, parseJSON };
