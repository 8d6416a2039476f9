-- Paces wrk: after each answer a connection waits a random 0 to 2*mean milliseconds (mean from
-- the script's argument), so N connections send about N/(mean + latency) requests per
-- millisecond, spread out like independent clients rather than back to back. wrk times each
-- request from its sending to its answer; the pause is not counted.
local mean = 7

function init(args)
  if args[1] then mean = tonumber(args[1]) end
end

function delay()
  return math.random(0, 2 * mean)
end
