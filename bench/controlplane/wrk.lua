-- wrk script for the control-plane benchmark. Configured by environment:
--   BENCH_METHOD   GET (default) or POST
--   BENCH_TOKEN    access token, sent as "Authorization: Bearer"
--   BENCH_BODY     request body; "{n}" becomes a number unique to the request
--   BENCH_IDS      file of user ids, one a line: with BENCH_BATCH, "{ids}" in the
--                  body becomes the next BENCH_BATCH of them (a JSON list)
--   BENCH_PATHS    file of paths, one a line: requests take them in turn
-- Prints one JSON line at the end: requests, duration, errors, latency percentiles.

local method = os.getenv("BENCH_METHOD") or "GET"
local token = os.getenv("BENCH_TOKEN")
local body = os.getenv("BENCH_BODY")
local ids_file = os.getenv("BENCH_IDS")
local batch = tonumber(os.getenv("BENCH_BATCH") or "0")
local paths_file = os.getenv("BENCH_PATHS")
local paths = {}

local threads = {}
local counter = 0
-- thread_id: a global each thread's setup() sets
local ids = {}
local next_id = 1

function setup(thread)
   thread:set("thread_id", #threads)
   table.insert(threads, thread)
end

function init(args)
   if paths_file then
      for line in io.lines(paths_file) do
         table.insert(paths, line)
      end
   end
   if ids_file then
      for line in io.lines(ids_file) do
         table.insert(ids, line)
      end
      -- Threads take disjoint slices, so no two requests add the same users.
      next_id = 1 + (thread_id * 7919 * batch) % math.max(#ids, 1)
   end
end

local function take_ids()
   local out = {}
   for _ = 1, batch do
      table.insert(out, '"' .. ids[next_id] .. '"')
      next_id = next_id % #ids + 1
   end
   return "[" .. table.concat(out, ",") .. "]"
end

function request()
   counter = counter + 1
   local headers = { ["Accept"] = "application/json" }
   if token then
      headers["Authorization"] = "Bearer " .. token
   end
   local payload = nil
   if body then
      headers["Content-Type"] = "application/json"
      payload = body:gsub("{n}", thread_id .. "-" .. counter .. "-" .. math.random(1, 1000000000))
      if batch > 0 then
         payload = payload:gsub("{ids}", take_ids())
      end
   end
   local path = nil
   if #paths > 0 then
      path = paths[(counter + thread_id) % #paths + 1]
   end
   return wrk.format(method, path, headers, payload)
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "errors": %d, "non_2xx": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
      summary.requests, summary.duration,
      errors.connect + errors.read + errors.write + errors.timeout, errors.status,
      latency:percentile(50), latency:percentile(99), latency.mean
   ))
end
