-- wrk script: durable sale ingest against an edge, one unique transaction id
-- per request. Used by scripts/bench-edge-wrk.sh; needs TOKEN, and
-- MACHINES/PRODUCTS as registered by that script.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  token = os.getenv("TOKEN")
  run = os.getenv("RUN") or "r"
  ts = os.getenv("TS")
end

function request()
  counter = counter + 1
  local m = counter % 10
  local p = math.floor(counter / 10) % 20
  local body = string.format(
    '{"transactionId":"%s-%d-%d","machineId":"VM_%04d","productId":"P%03d","quantity":1,"amount":%d,"paymentMethod":"CARD","timestamp":"%s"}',
    run, id, counter, m, p, 10 + p, ts)
  return wrk.format("POST", "/events/sales", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function response(status, headers, body)
  if status ~= 201 then
    io.stderr:write("status " .. status .. ": " .. body .. "\n")
  end
end
