// trickle.js PORT COUNT LOCAL_ADDRESS SECONDS - opens COUNT connections to
// 127.0.0.1:PORT from LOCAL_ADDRESS (e.g. 127.0.0.2) and sends an HTTP request
// one byte a second, never finishing it, for at most SECONDS. Prints one JSON
// line: how many the server closed within 1 s ("early": refused), how many it
// cut later ("cut"), and when the last of those closed (seconds).
'use strict';
const net = require('net');
const [port, count, local, seconds] = process.argv.slice(2);
const line = 'GET /layers HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(1000);
const t0 = Date.now();
let early = 0, cut = 0, lastClose = 0, done = 0;
const sockets = [];
function finish() {
  if (++done < Number(count)) return;
  console.log(JSON.stringify({ early, cut, last_close_s: lastClose }));
  process.exit(0);
}
for (let i = 0; i < Number(count); i++) {
  const s = net.connect({ port: Number(port), host: '127.0.0.1', localAddress: local });
  let at = 0, finished = false, timer = null;
  const end = () => { if (!finished) { finished = true; clearInterval(timer); finish(); } };
  s.on('connect', () => {
    timer = setInterval(() => { if (at < line.length) s.write(line[at++]); }, 1000);
    s.write(line[at++]);
  });
  s.on('data', () => {});
  s.on('error', () => {});
  s.on('close', () => {
    const t = (Date.now() - t0) / 1000;
    if (!finished && t < 1) early++;
    else if (!finished) { cut++; lastClose = t; }
    end();
  });
  sockets.push(s);
}
setTimeout(() => { for (const s of sockets) s.destroy(); }, Number(seconds) * 1000);
