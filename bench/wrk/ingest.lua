-- wrk script of bench/ingest.py: POST /v1/events batches as a mobile SDK sends them.
--
--   wrk -t T -c C -d D --latency --timeout 40s -s bench/wrk/ingest.lua URL -- \
--       BATCH WRITE_KEY WINDOW_SECONDS CONNS_PER_THREAD MARKER_DIR
--
-- Every event gets a fresh random UUID v4 (never replayed: replays would measure the
-- dedup fast path). Each request is one simulated device's batch: its anonymous_id,
-- session and context (os/app/device/...), events timestamped "now" minus a few
-- seconds in RFC 3339, and the envelope's sent_at.
--
-- Measurement window and drain: each thread sends for WINDOW_SECONDS; after that,
-- delay() parks every connection once its in-flight response has arrived, so nothing
-- the server may have committed goes unaccounted. When all of a thread's connections
-- are parked, the thread stops and touches MARKER_DIR/drained-<id>; the driver then
-- sends SIGINT to wrk, which prints its summary and runs done(). done() prints one
-- line "EKBENCH {json}" with the counts the driver needs.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_usec; } ek_timeval;
int gettimeofday(ek_timeval *tv, void *tz);
]])
local tv = ffi.new("ek_timeval")

local function now()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) / 1e6
end

local random, floor, format, concat = math.random, math.floor, string.format, table.concat

-- ---------------------------------------------------------------- main thread
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

-- ---------------------------------------------------------------- worker threads
-- Globals read back by done() through thread:get(). (No count of request() calls:
-- wrk calls request() once more on thread 1 to verify the script.)
received, ok, not_ok, acked_events, acked_in_window = 0, 0, 0, 0, 0, 0
accepted, duplicates, ok_in_window, parked, drained = 0, 0, 0, 0, 0
first_error = ""
local batch, key, deadline, conns, marker_dir
local devices = {}
local head

local function seed()
  -- Per-thread seed from the kernel: threads must not share a UUID stream.
  local f = io.open("/dev/urandom", "rb")
  local s = 0
  if f then
    local bytes = f:read(6)
    f:close()
    for i = 1, #bytes do
      s = s * 256 + bytes:byte(i)
    end
  end
  math.randomseed(s + now() * 1e6 + (id or 0))
  for _ = 1, 10 do random() end
end

-- Four hex digits for every 16-bit value: a UUID is eight table lookups.
local HEX4 = {}
for i = 0, 65535 do
  HEX4[i] = format("%04x", i)
end
local HEX3 = {}
for i = 0, 4095 do
  HEX3[i] = format("%03x", i)
end
-- The version nibble is 4; the variant nibble is 8, 9, a or b (RFC 4122 10xx).
local VARIANT = {}
for i = 0, 16383 do
  VARIANT[i] = format("%04x", 0x8000 + i)
end

local function uuid4()
  -- 122 random bits.
  return HEX4[random(0, 65535)] .. HEX4[random(0, 65535)] .. "-" .. HEX4[random(0, 65535)]
    .. "-4" .. string.sub(HEX4[random(0, 65535)], 2) .. "-" .. VARIANT[random(0, 16383)] .. "-"
    .. HEX4[random(0, 65535)] .. HEX4[random(0, 65535)] .. HEX4[random(0, 65535)]
end

local sec_cached, sec_text = -1, ""
local MS = {}
for i = 0, 999 do
  MS[i] = format(".%03dZ", i)
end

local function rfc3339(t)
  local sec = floor(t)
  if sec ~= sec_cached then
    sec_cached, sec_text = sec, os.date("!%Y-%m-%dT%H:%M:%S", sec)
  end
  return sec_text .. MS[floor((t - sec) * 1000)]
end

local OS = {
  { "iOS", { "17.4.1", "17.5", "18.0", "18.1" }, "Apple", { "iPhone15,2", "iPhone14,5", "iPhone16,1" }, "ios" },
  { "Android", { "13", "14", "15" }, "samsung", { "SM-S918B", "SM-A546B", "Pixel 8" }, "android" },
}
local LOCALES = { "en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR" }
local ZONES = { "America/New_York", "Europe/Berlin", "Europe/Paris", "Asia/Tokyo", "America/Sao_Paulo" }
local SCREENS = { "Home", "Feed", "Search", "Product", "Cart", "Checkout", "Settings", "Profile" }
local BUTTONS = { "add_to_cart", "buy_now", "share", "like", "follow", "subscribe" }

local function pick(t)
  return t[random(1, #t)]
end

local function make_device()
  local o = pick(OS)
  local version = format("%d.%d.%d", random(2, 4), random(0, 9), random(0, 20))
  local ctx = format(
    '{"app":{"version":"%s"},"os":{"name":"%s","version":"%s"},'
      .. '"device":{"manufacturer":"%s","model":"%s"},"locale":"%s","timezone":"%s",'
      .. '"library":{"name":"eventkit-%s","version":"1.4.2"}}',
    version, o[1], pick(o[2]), o[3], pick(o[4]), pick(LOCALES),
    pick(ZONES), o[5]
  )
  return {
    tail = format('","anonymous_id":"%s","session_id":"%s","context":%s}', uuid4(), uuid4(), ctx),
  }
end

local function properties()
  local kind = random(1, 3)
  if kind == 1 then
    return "screen_view", format('{"screen":"%s","duration_ms":%d}', pick(SCREENS),
      random(50, 60000))
  elseif kind == 2 then
    return "button_tap", format('{"button":"%s","screen":"%s","position":%d}',
      pick(BUTTONS), pick(SCREENS), random(0, 20))
  end
  return "purchase", format('{"product_id":"sku-%d","price":%d.%02d,"currency":"EUR","quantity":%d}',
    random(1000, 99999), random(1, 300), random(0, 99), random(1, 3))
end

-- Pre-built event content, so the load generator spends its time on what must be
-- fresh: ids and timestamps. Prefixes: name and properties, suffix: device fields.
local contents = {}

local function make_body()
  -- One table of existing strings and one table.concat: no per-event string is built
  -- (interning ~500-byte strings would cost the load generator more than the ids).
  local d = devices[random(1, #devices)]
  local t = now()
  local p, n = { '{"sent_at":"', rfc3339(t), '","events":[' }, 3
  local tail = d.tail
  for i = 1, batch do
    -- Events were recorded over the last minute and flushed together, oldest first.
    local ts = t - (batch - i) * 0.5 - random() * 0.4
    local sec = floor(ts)
    if sec ~= sec_cached then
      sec_cached, sec_text = sec, os.date("!%Y-%m-%dT%H:%M:%S", sec)
    end
    local v = random(0, 65535)
    p[n + 1] = i == 1 and '{"event_id":"' or ',{"event_id":"'
    -- A random UUID v4: 122 random bits, version nibble 4, variant 10xx.
    p[n + 2] = HEX4[random(0, 65535)]
    p[n + 3] = HEX4[random(0, 65535)]
    p[n + 4] = "-"
    p[n + 5] = HEX4[random(0, 65535)]
    p[n + 6] = "-4"
    p[n + 7] = HEX3[random(0, 4095)]
    p[n + 8] = "-"
    p[n + 9] = VARIANT[random(0, 16383)]
    p[n + 10] = "-"
    p[n + 11] = HEX4[random(0, 65535)]
    p[n + 12] = HEX4[random(0, 65535)]
    p[n + 13] = HEX4[v]
    p[n + 14] = contents[random(1, #contents)]
    p[n + 15] = sec_text
    p[n + 16] = MS[floor((ts - sec) * 1000)]
    p[n + 17] = tail
    n = n + 17
  end
  p[n + 1] = "]}"
  return concat(p)
end

function init(args)
  batch = tonumber(args[1])
  key = args[2]
  local window = tonumber(args[3])
  conns = tonumber(args[4])
  marker_dir = args[5]
  seed()
  for i = 1, 500 do
    devices[i] = make_device()
  end
  for i = 1, 2000 do
    local name, props = properties()
    contents[i] = format('","name":"%s","properties":%s,"timestamp":"', name, props)
  end
  head = "POST /v1/events HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. tostring(wrk.port)
    .. "\r\nContent-Type: application/json\r\nAuthorization: Bearer " .. key
    .. "\r\nUser-Agent: eventkit-mobile/1.4.2 (iOS 17.4; bench)\r\nContent-Length: "
  deadline = now() + window
end

function request()
  local body = make_body()
  return head .. #body .. "\r\n\r\n" .. body
end

function response(status, _, body)
  received = received + 1
  local t = now()
  if status == 200 then
    ok = ok + 1
    acked_events = acked_events + batch
    if t <= deadline then
      acked_in_window = acked_in_window + batch
      ok_in_window = ok_in_window + 1
    end
    local a = body:match('"accepted":(%d+)')
    local dup = body:match('"duplicates":(%d+)')
    accepted = accepted + (tonumber(a) or 0)
    duplicates = duplicates + (tonumber(dup) or 0)
  else
    not_ok = not_ok + 1
    if first_error == "" then
      first_error = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function delay()
  if now() < deadline then
    return 0
  end
  -- Past the window: park this connection (its response has arrived).
  parked = parked + 1
  if parked >= conns and drained == 0 then
    drained = 1
    local f = io.open(marker_dir .. "/drained-" .. tostring(id), "w")
    if f then
      f:close()
    end
    wrk.thread:stop()
  end
  return 3600 * 1000
end

-- ---------------------------------------------------------------- summary
local function esc(s)
  return (s:gsub('[%c"\\]', function(c)
    return format("\\u%04x", c:byte())
  end))
end

function done(summary, latency, _)
  local totals = {
    received = 0, ok = 0, not_ok = 0, acked_events = 0, acked_in_window = 0,
    ok_in_window = 0, accepted = 0, duplicates = 0, drained = 0,
  }
  local errors = {}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (tonumber(thread:get(name)) or 0)
    end
    local e = thread:get("first_error")
    if e and e ~= "" then
      errors[#errors + 1] = '"' .. esc(e) .. '"'
    end
  end
  local out = {}
  for name, value in pairs(totals) do
    out[#out + 1] = format('"%s":%d', name, value)
  end
  local e = summary.errors
  out[#out + 1] = format(
    '"threads":%d,"wrk_duration_us":%d,"wrk_requests":%d,"socket_errors":{"connect":%d,'
      .. '"read":%d,"write":%d,"status":%d,"timeout":%d}',
    #threads, summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout
  )
  out[#out + 1] = format(
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}',
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean
  )
  out[#out + 1] = '"first_errors":[' .. concat(errors, ",") .. "]"
  io.write("EKBENCH {" .. concat(out, ",") .. "}\n")
end
