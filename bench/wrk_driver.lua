-- wrk driver for bench/run.py: replays pre-signed AWS JSON 1.1 requests.
--
--   wrk ... -s bench/wrk_driver.lua -- GETS PUTS NTHREADS PUT_EVERY
--
-- GETS and PUTS are request files written by run.py ("-" for none). Each request is a run of
-- "H Name: value" lines followed by one "B body" line; init() turns each into a raw HTTP
-- request with wrk.format, once, so request() only picks the next prepared string.
--
-- PUT_EVERY = 0: only GETS; 1: only PUTS; 10: every tenth request comes from PUTS (90/10).
-- GETS are cycled (re-sending a signed read is fine within the 5-minute signature window).
-- PUTS carry unique ClientRequestTokens: thread t of NTHREADS takes every NTHREADS-th one,
-- so no token is sent twice unless a thread runs out and wraps; wraps are counted and
-- reported, and run.py fails the run if any happened (a repeated token is a no-op).
--
-- response() counts every non-200 status; done() prints one "BENCH ..." line for run.py.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local function load_pool(path, stride, offset)
   local pool = {}
   if path == "-" then
      return pool
   end
   local f = assert(io.open(path, "rb"))
   local headers = {}
   local index = 0
   for line in f:lines() do
      local kind = line:sub(1, 2)
      if kind == "H " then
         local name, value = line:match("^H ([^:]+): (.*)$")
         headers[name] = value
      elseif kind == "B " then
         if index % stride == offset then
            pool[#pool + 1] = wrk.format("POST", "/", headers, line:sub(3))
         end
         index = index + 1
         headers = {}
      end
   end
   f:close()
   return pool
end

function init(args)
   local nthreads = tonumber(args[3])
   put_every = tonumber(args[4])
   tid = tid or 0
   gets = load_pool(args[1], 1, 0)
   puts = load_pool(args[2], nthreads, tid)
   if put_every ~= 1 and #gets == 0 then
      error("no GET requests loaded from " .. args[1])
   end
   if put_every > 0 and #puts == 0 then
      error("no PUT requests loaded from " .. args[2])
   end
   -- Threads start at different places in the shared read pool.
   gi = (#gets > 0) and ((tid * 7919) % #gets) or 0
   pi = 0
   n = 0
   wraps = 0
   non200 = 0
   first_bad = ""
end

function request()
   n = n + 1
   if put_every > 0 and n % put_every == 0 then
      pi = pi + 1
      if pi > #puts then
         pi = 1
         wraps = wraps + 1
      end
      return puts[pi]
   end
   gi = gi + 1
   if gi > #gets then
      gi = 1
   end
   return gets[gi]
end

function response(status, headers, body)
   if status ~= 200 then
      non200 = non200 + 1
      if first_bad == "" then
         first_bad = tostring(status) .. " " .. string.gsub(string.sub(body or "", 1, 300), "\n", " ")
      end
   end
end

function done(summary, latency, requests)
   local bad, wrapped, first = 0, 0, ""
   for _, t in ipairs(threads) do
      bad = bad + (t:get("non200") or 0)
      wrapped = wrapped + (t:get("wraps") or 0)
      local fb = t:get("first_bad") or ""
      if first == "" and fb ~= "" then
         first = fb
      end
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d non200=%d wraps=%d connect=%d read=%d write=%d "
         .. "status=%d timeout=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d\n",
      summary.requests, summary.duration, bad, wrapped, e.connect, e.read, e.write, e.status,
      e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max))
   io.write("BENCH_FIRST_BAD " .. first .. "\n")
end
