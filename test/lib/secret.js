// secret.js LOG - an HTTP server on a free port of 127.0.0.1 that must never be
// reached: it logs "METHOD URL" of every request to LOG and answers 200 with a
// few bytes. Prints "listening PORT" once ready.
'use strict';
const http = require('http');
const fs = require('fs');
const log = process.argv[2];
fs.writeFileSync(log, '');
const server = http.createServer((req, res) => {
  fs.appendFileSync(log, `${req.method} ${req.url}\n`);
  res.end('secret');
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
