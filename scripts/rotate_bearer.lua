-- wrk script: GET requests that rotate through the Authorization values in $TOKENS_FILE (one
-- per line, "Bearer ..."). The $WRK_THREADS threads (default 1) take disjoint shares of them
-- (thread k every WRK_THREADS-th from the k-th), so each token comes back once per pass through
-- the whole file, as when that many clients take turns, not once per pass of one thread.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do
  tokens[#tokens + 1] = line
end
local threads = tonumber(os.getenv("WRK_THREADS") or "1")

-- setup runs in wrk's main Lua state, once per thread, before that thread's init.
local created = 0
function setup(thread)
  thread:set("thread_index", created)
  created = created + 1
end

local share = {}
local next_index = 0

function init(args)
  for i = (thread_index or 0) + 1, #tokens, threads do
    share[#share + 1] = tokens[i]
  end
  tokens = nil
end

request = function()
  next_index = next_index % #share + 1
  return wrk.format(nil, nil, { ["Authorization"] = share[next_index] })
end
