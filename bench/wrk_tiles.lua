-- wrk_tiles.lua - wrk script of bench/run.sh: cycles through a tile list and
-- checks every answer's status.
--   wrk -t N -c N -d 5s -s bench/wrk_tiles.lua http://127.0.0.1:PORT -- LIST [MAX DONE]
-- LIST has one "PATH STATUS [METHOD]" per line (STATUS: the expected HTTP
-- status; METHOD: GET unless given). MAX: each thread stops after MAX answers
-- and appends a line to the file DONE (wrk itself runs for -d regardless: the
-- caller sends it SIGINT once DONE has N lines, and wrk then reports).
-- Give as many threads as connections (-t = -c): each thread then has one
-- connection without pipelining, its answers come back in request order, and
-- answer k is checked against the status of the k-th request it sent. Each
-- thread starts at a different place in the list.
-- Prints one line at the end:
--   WRK REQUESTS SECONDS P50_MS P95_MS P99_MS SOCKET_ERRORS BAD_STATUSES

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   reqs, want = {}, {}
   for line in io.lines(args[1]) do
      local path, status, method = line:match("^(%S+)%s+(%d+)%s*(%a*)")
      if path then
         reqs[#reqs + 1] = wrk.format(method ~= "" and method or "GET", path)
         want[#want + 1] = tonumber(status)
      end
   end
   if #reqs == 0 then
      error("no tiles in " .. args[1])
   end
   start = (id * 7) % #reqs
   max = tonumber(args[2] or "0")
   done_file = args[3]
   -- wrk calls request() once more in the first thread, before the run, to
   -- check the request (script_verify_request); that one is never sent
   sent = (id == 0) and -1 or 0
   got, bad = 0, 0
end

function request()
   local r = reqs[(start + sent) % #reqs + 1]
   sent = sent + 1
   return r
end

function response(status, headers, body)
   if status ~= want[(start + got) % #reqs + 1] then
      bad = bad + 1
   end
   got = got + 1
   if max > 0 and got == max then
      if done_file then
         local f = io.open(done_file, "a")
         f:write("done\n")
         f:close()
      end
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local bad_total = 0
   for _, t in ipairs(threads) do
      bad_total = bad_total + t:get("bad")
   end
   local e = summary.errors
   -- errors.status counts every answer >= 400, expected 404s included, so
   -- statuses are judged by bad_total instead
   io.write(string.format("WRK %d %.3f %.3f %.3f %.3f %d %d\n", summary.requests,
                          summary.duration / 1e6, latency:percentile(50) / 1e3,
                          latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
                          e.connect + e.read + e.write + e.timeout, bad_total))
end
