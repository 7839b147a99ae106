// s3rver.js --dir DIR --log FILE [--bucket NAME]... - a local S3 (npm s3rver,
// pinned in test/s3/package.json) on a free port of 127.0.0.1, for the tests and
// the benchmark. Prints "PORT n" once listening; appends one line per request to
// FILE ("METHOD PATH RANGE STATUS"); stops on SIGTERM/SIGINT. Credentials:
// S3RVER / S3RVER (s3rver's own).
"use strict";
const path = require("path");
const fs = require("fs");
const S3rver = require(path.join(__dirname, "../s3/node_modules/s3rver"));

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const buckets = args.flatMap((a, i) => (a === "--bucket" ? [args[i + 1]] : []));
const dir = opt("--dir"), log = opt("--log");
if (!dir || !log) {
  console.error("usage: s3rver.js --dir DIR --log FILE [--bucket NAME]...");
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  directory: dir,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name })),
});
server.run().then((addr) => {
  server.httpServer.on("request", (req, res) => {
    res.on("finish", () => {
      fs.appendFileSync(log, `${req.method} ${req.url.split("?")[0]} ${req.headers.range || "-"} ${res.statusCode}\n`);
    });
  });
  console.log(`PORT ${addr.port}`);
}, (e) => { console.error(e); process.exit(1); });
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
